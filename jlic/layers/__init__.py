"""Neural network layers. They know nothing of entropy models or coding."""

from jlic.layers.conv import Downsample, Upsample, depth_to_space
from jlic.layers.gdn import GDN, lower_bound

__all__ = ["GDN", "Downsample", "Upsample", "depth_to_space", "lower_bound"]
