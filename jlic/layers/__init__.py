"""Neural network layers. They know nothing of entropy models or coding."""

from jlic.layers.conv import Conv, TransposedConv, depth_to_space
from jlic.layers.gdn import GDN, lower_bound
from jlic.layers.residual import PReLU, ResidualBlock, ResidualConvBlock

__all__ = ["GDN", "Conv", "PReLU", "ResidualBlock", "ResidualConvBlock", "TransposedConv",
           "depth_to_space", "lower_bound"]
