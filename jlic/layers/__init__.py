"""Neural network layers. They know nothing of entropy models or coding."""

from jlic.layers.conv import Downsample, Upsample, depth_to_space
from jlic.layers.gdn import GDN, lower_bound
from jlic.layers.residual import PReLU, ResidualBlock

__all__ = ["GDN", "Downsample", "PReLU", "ResidualBlock", "Upsample", "depth_to_space",
           "lower_bound"]
