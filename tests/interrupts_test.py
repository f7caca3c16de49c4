"""gan_jax/interrupts.py: a signal that lands where Python cannot raise (a __del__, a gc
callback) is neither printed as a traceback nor lost."""
import subprocess
import sys
import textwrap

from conftest import ROOT

_PROGRAM = textwrap.dedent('''
    import os, signal, sys
    from gan_jax import interrupts
    interrupts.install()
    interrupts.arm()

    class Finalised:
      def __del__(self):  # The signal's handler runs here, where a raise is "unraisable".
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
          pass

    Finalised()
    print('after the finaliser', flush=True)
    try:
      interrupts.check()
    except interrupts.Interrupted as e:
      print('remembered', e.exit_status)

    class Failing:  # Any other unraisable exception is still reported.
      def __del__(self):
        raise ValueError('reported')

    Failing()
''')


def test_a_signal_in_a_finaliser_is_silent_and_remembered():
  result = subprocess.run([sys.executable, '-c', _PROGRAM], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines() == ['after the finaliser', 'remembered 130']
  # The one unraisable error printed is the ValueError, not the Interrupted.
  assert result.stderr.count('Traceback') == 1, result.stderr
  assert 'ValueError: reported' in result.stderr and 'Interrupted' not in result.stderr


_SWALLOWED = textwrap.dedent('''
    import os, signal, time
    from gan_jax import cli
    cli.install()

    @cli.one_line('swallower')
    def main(argv):
      try:  # A library that catches everything, the way a gc callback's caller does.
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
      except BaseException:
        pass
      print('finished its work', flush=True)

    main([])
    print('exited 0: the signal was lost', flush=True)
''')


def test_a_swallowed_signal_still_ends_the_command_in_one_line():
  # Once: `--mode=eval` ran to the end and exited 0 after a SIGTERM landed in a gc callback.
  result = subprocess.run([sys.executable, '-c', _SWALLOWED], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 143, result.stderr
  assert result.stdout.splitlines() == ['finished its work']
  assert result.stderr.strip().splitlines()[-1].startswith('swallower: terminated (SIGTERM)')
  assert 'Traceback' not in result.stderr
