"""The config hooks the convolutional networks share (dcgan.py, radford.py): how their fields are
checked and how `:runlocal` shrinks them (c = 4 channels at width 1)."""
from typing import Any, Dict

from gan_jax.models.mlp import check_activation


class ConvGeneratorHooks:
  """For a convolutional G with `output_activation` and `base_channels` fields."""

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    check_activation(fields.get('output_activation', cls.output_activation), where)

  @classmethod
  def runlocal(cls, fields: Dict[str, Any]) -> Dict[str, Any]:
    """`:runlocal`: 4 channels at width 1."""
    del fields
    return {'base_channels': 4}


class ConvDiscriminatorHooks:
  """For a convolutional D with a `base_channels` field: any sizes build."""

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    del fields, where

  runlocal = ConvGeneratorHooks.runlocal
