import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jlic.layers import GDN, Conv, TransposedConv, lower_bound

DN = ("NHWC", "HWIO", "NHWC")


def _x(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


@pytest.mark.parametrize("k,s", [(5, 2), (3, 1), (3, 2), (5, 1)])
def test_downsample_equals_strided_conv(k, s):
    layer = Conv(6, 5, k, s, rngs=nnx.Rngs(1))
    x = _x((2, 16, 24, 6))
    ref = jax.lax.conv_general_dilated(x, layer.kernel[...], (s, s), ((k // 2, k // 2),) * 2,
                                       dimension_numbers=DN, precision="highest")
    ref = ref + layer.bias[...]
    out = layer(x)
    assert out.shape == (2, 16 // s, 24 // s, 5)
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("k,s", [(5, 2), (3, 1), (3, 2)])
def test_upsample_equals_conv_transpose(k, s):
    """Same function as torch.nn.ConvTranspose2d(k, s, padding=k//2, output_padding=s-1)."""
    layer = TransposedConv(6, 5, k, s, rngs=nnx.Rngs(2))
    x = _x((2, 7, 9, 6))
    p, op = k // 2, s - 1
    # lax.conv_transpose with the kernel flipped and explicit (k-1-p, k-1-p+op) padding is the
    # PyTorch transposed convolution of the same (cin, cout) kernel.
    ref = jax.lax.conv_transpose(
        x, layer.kernel[...][::-1, ::-1], (s, s),
        ((k - 1 - p, k - 1 - p + op),) * 2, dimension_numbers=DN, precision="highest")
    ref = ref + layer.bias[...]
    out = layer(x)
    assert out.shape == (2, 7 * s, 9 * s, 5)
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=1e-5)


def test_upsample_scatter_definition():
    """Checks the kernel layout against the scatter definition out[s*i + k - p] += in[i] W[k]."""
    k, s, p = 5, 2, 2
    layer = TransposedConv(3, 2, k, s, rngs=nnx.Rngs(3))
    x = np.asarray(_x((1, 3, 4, 3)))
    w = np.asarray(layer.kernel[...])
    full = np.zeros((1, 3 * s + k, 4 * s + k, 2))
    for i in range(3):
        for j in range(4):
            full[:, i * s: i * s + k, j * s: j * s + k] += np.einsum("bc,yxcd->byxd", x[:, i, j], w)
    ref = full[:, p: p + 6, p: p + 8] + np.asarray(layer.bias[...])
    np.testing.assert_allclose(layer(jnp.asarray(x)), ref, atol=1e-5)


def test_fast_conv_gradients_match_reference():
    layer = TransposedConv(4, 3, 5, 2, rngs=nnx.Rngs(4))
    x = _x((1, 5, 6, 4))
    g, state = nnx.split(layer)

    def ours(kernel):
        st = jax.tree.map(lambda v: v, state)
        st["kernel"].set_value(kernel)
        return jnp.sum(jnp.sin(nnx.merge(g, st)(x)))

    def ref(kernel):
        y = jax.lax.conv_transpose(x, kernel[::-1, ::-1], (2, 2), ((2, 3), (2, 3)),
                                   dimension_numbers=DN, precision="highest")
        return jnp.sum(jnp.sin(y + layer.bias[...]))

    kern = layer.kernel[...]
    np.testing.assert_allclose(jax.grad(ours)(kern), jax.grad(ref)(kern), atol=1e-4)


def test_gdn_matches_formula_and_igdn_inverts_to_first_order():
    c = 4
    gdn, igdn = GDN(c), GDN(c, inverse=True)
    rng = np.random.default_rng(0)
    beta = rng.uniform(0.5, 2.0, c)
    gamma = rng.uniform(0.0, 0.3, (c, c))
    for layer in (gdn, igdn):
        layer.beta.set_value(jnp.sqrt(jnp.asarray(beta, jnp.float32) + 2.0**-36))
        layer.gamma.set_value(jnp.sqrt(jnp.asarray(gamma, jnp.float32) + 2.0**-36))
    x = np.asarray(_x((2, 3, 5, c)))
    norm = beta + np.einsum("bhwj,ij->bhwi", x**2, gamma)
    np.testing.assert_allclose(gdn(jnp.asarray(x)), x / np.sqrt(norm), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(igdn(jnp.asarray(x)), x * np.sqrt(norm), rtol=1e-4, atol=1e-5)
    small = 1e-3 * x  # for small inputs GDN is x / sqrt(beta): IGDN(GDN(x)) ~ x
    np.testing.assert_allclose(igdn(gdn(jnp.asarray(small))), small, rtol=1e-3, atol=1e-7)


def test_gdn_parameters_stay_valid_when_stored_values_go_negative():
    layer = GDN(3)
    layer.beta.set_value(-jnp.ones(3))
    layer.gamma.set_value(-jnp.ones((3, 3)))
    out = layer(_x((1, 2, 2, 3)))
    assert np.all(np.isfinite(out))


def test_lower_bound_gradient_passes_when_pushing_up():
    def f(x):
        return jnp.sum(lower_bound(x, 1.0) * jnp.array([1.0, -1.0]))
    g = jax.grad(f)(jnp.array([0.5, 0.5]))
    # below the bound: the gradient that would decrease x (descent direction up) passes
    assert g[0] == 0.0 and g[1] == -1.0


@pytest.mark.parametrize("k,s,side", [(5, 2, 4), (5, 2, 8), (3, 1, 2), (3, 1, 4)])
def test_small_maps_take_the_patch_matmul_path_with_the_same_values_and_gradients(k, s, side):
    """Outputs of <= 16 pixels (the hyperprior's z maps) are computed as one matmul over
    explicit patches instead of an XLA convolution: same function, same gradients."""
    from jlic.layers import conv

    layer = Conv(6, 5, k, s, rngs=nnx.Rngs(5))
    x = _x((2, side, side, 6))
    assert (side // s) ** 2 <= conv._DOT_MAX_PIXELS

    def ref(x, w):
        return jax.lax.conv_general_dilated(x, w, (s, s), ((k // 2, k // 2),) * 2,
                                            dimension_numbers=DN, precision="highest")

    w = layer.kernel[...]
    np.testing.assert_allclose(layer(x) - layer.bias[...], ref(x, w), atol=2e-5, rtol=1e-5)
    def loss(f):
        return (lambda x, w: jnp.sum(jnp.sin(f(x, w))))
    ours = jax.grad(loss(lambda x, w: conv.strided_conv(x, w, s) if s > 1
                         else conv._strided_conv(x, w, 1)), (0, 1))(x, w)
    for a, b in zip(ours, jax.grad(loss(ref), (0, 1))(x, w), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
