"""Generator and discriminator networks, and the registered GAN builders.

The networks are public building blocks; the registered GANs are rows of one variant
table (`BUILDERS.variant`, arguments in `ARGUMENTS`): conditional or not, a
discriminator or a Wasserstein critic.
The StyleGAN builders (`STYLE_BUILDERS`) are rows of a second table.
Every builder takes `augment` ("auto" by default: adaptive discriminator augmentation
when the training set is small, see `keras_genzoo.models.gan.augment`).
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from keras_genzoo.core.blocks import (
    build_conv_decoder,
    build_conv_encoder,
    build_dense_decoder,
    build_dense_encoder,
    check_image_shape,
)
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.gan.model import GAN
from keras_genzoo.models.gan.style_networks import build_style_generator
from keras_genzoo.models.gan.stylegan import StyleGAN

SYMMETRIC_RANGE = (-1.0, 1.0)


def build_dcgan_generator(
    image_shape: Sequence[int],
    latent_dim: int,
    filters: Sequence[int] = (128, 64),
    *,
    normalization: str | None = "batch",
    name: str = "generator",
) -> keras.Model:
    """Noise (latent_dim,) -> image in [-1, 1]: dense, upsample + convolutions, tanh.

    Nearest-neighbour upsampling followed by a convolution replaces the transposed
    convolutions of the original DCGAN: on small images the transposed version
    collapsed to a single output in our runs (see docs/BENCHMARKS.md).
    """
    return build_conv_decoder(
        image_shape, latent_dim, filters, kernel_size=3, activation="relu",
        normalization=normalization, output_activation="tanh", upsampling="resize", name=name,
    )


def build_dcgan_discriminator(
    image_shape: Sequence[int],
    filters: Sequence[int] = (64, 128),
    *,
    normalization: str | None = None,
    dropout: float = 0.0,
    name: str = "discriminator",
) -> keras.Model:
    """Image -> one raw score: strided convolutions with leaky ReLU, then a dense unit."""
    return build_conv_encoder(
        image_shape, filters, output_dim=1, kernel_size=4, activation="leaky_relu",
        normalization=normalization, dropout=dropout, name=name,
    )


def build_conditional_generator(
    image_shape: Sequence[int],
    latent_dim: int,
    num_classes: int,
    filters: Sequence[int] = (128, 64),
    *,
    embedding_dim: int = 16,
    normalization: str | None = "batch",
    name: str = "generator",
) -> keras.Model:
    """[noise, label] -> image in [-1, 1]: the label's learned embedding joins the noise."""
    noise = keras.Input((latent_dim,), name=f"{name}_noise")
    label = keras.Input((1,), dtype="int32", name=f"{name}_label")
    embedded = layers.Flatten(name=f"{name}_label_flat")(
        layers.Embedding(num_classes, embedding_dim, name=f"{name}_label_embedding")(label)
    )
    joined = layers.Concatenate(name=f"{name}_join")([noise, embedded])
    body = build_dcgan_generator(
        image_shape, latent_dim + embedding_dim, filters, normalization=normalization,
        name=f"{name}_body",
    )
    return keras.Model([noise, label], body(joined), name=name)


def build_projection_discriminator(
    image_shape: Sequence[int],
    num_classes: int,
    filters: Sequence[int] = (64, 128),
    *,
    normalization: str | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """[image, label] -> one raw score: dense(features) + <embedding(label), features>.

    The projection form (Miyato & Koyama, 2018) makes the score depend on whether the
    image looks like the given class, not only like the data.
    """
    image = keras.Input(check_image_shape(image_shape), name=f"{name}_image")
    label = keras.Input((1,), dtype="int32", name=f"{name}_label")
    features = build_conv_encoder(
        image_shape, filters, kernel_size=4, activation="leaky_relu",
        normalization=normalization, name=f"{name}_features",
    )(image)
    feature_dim = int(features.shape[-1])
    unconditional = layers.Dense(1, name=f"{name}_score")(features)
    class_vector = layers.Flatten(name=f"{name}_label_flat")(
        layers.Embedding(num_classes, feature_dim, name=f"{name}_label_embedding")(label)
    )
    projection = layers.Dot(axes=1, name=f"{name}_projection")([class_vector, features])
    return keras.Model([image, label], layers.Add(name=f"{name}_out")([unconditional, projection]), name=name)


def build_mlp_generator(
    sample_shape: Sequence[int],
    latent_dim: int,
    units: Sequence[int] = (128, 128),
    *,
    output_activation: str | None = None,
    name: str = "generator",
) -> keras.Model:
    """Noise -> sample through dense ReLU layers; for vectors given as (1, 1, D) samples."""
    return build_dense_decoder(
        sample_shape, latent_dim, units, activation="relu",
        output_activation=output_activation, name=name,
    )


def build_mlp_discriminator(
    sample_shape: Sequence[int],
    units: Sequence[int] = (128, 128),
    *,
    name: str = "discriminator",
) -> keras.Model:
    """Sample -> one raw score through dense leaky-ReLU layers (no hidden layer if `units=()`)."""
    return build_dense_encoder(sample_shape, units, output_dim=1, activation="leaky_relu", name=name)


def _adam(learning_rate: float, beta_1: float, beta_2: float, role: str) -> keras.optimizers.Adam:
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, name=role)


def _build(
    *,
    name: str,
    conditional: bool,
    critic: bool,
    image_shape: Sequence[int],
    latent_dim: int,
    generator_filters: Sequence[int],
    ema_decay: float | None,
    learning_rate: float,
    beta_1: float,
    seed: int | None,
    num_classes: int | None = None,
    embedding_dim: int | None = None,
    discriminator_filters: Sequence[int] | None = None,
    loss: str | None = None,
    label_smoothing: float | None = None,
    instance_noise: float | None = None,
    augment: str | None = "auto",
    critic_filters: Sequence[int] | None = None,
    critic_steps: int | None = None,
    gradient_penalty_weight: float | None = None,
    beta_2: float = 0.999,
) -> GAN:
    """The one GAN builder: a (label-conditional) generator against a discriminator, or
    against a Wasserstein `critic` with a gradient penalty."""
    image_shape = check_image_shape(image_shape)
    if conditional:
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
        generator = build_conditional_generator(
            image_shape, latent_dim, num_classes, generator_filters, embedding_dim=embedding_dim
        )
    else:
        generator = build_dcgan_generator(image_shape, latent_dim, generator_filters)
    if critic:
        discriminator = build_dcgan_discriminator(
            image_shape, critic_filters, normalization="layer", name="critic"
        )
        objective = dict(loss="wasserstein", discriminator_steps=critic_steps,
                         gradient_penalty_weight=gradient_penalty_weight)
    else:
        discriminator = (
            build_projection_discriminator(image_shape, num_classes, discriminator_filters)
            if conditional else build_dcgan_discriminator(image_shape, discriminator_filters)
        )
        objective = dict(loss=loss, label_smoothing=label_smoothing, instance_noise=instance_noise)
    model = GAN(
        generator, discriminator, num_classes=num_classes, **objective, ema_decay=ema_decay,
        augment=augment, value_range=SYMMETRIC_RANGE, seed=seed, name=name,
    )
    model.compile(
        d_optimizer=_adam(learning_rate, beta_1, beta_2, "d_optimizer"),
        g_optimizer=_adam(learning_rate, beta_1, beta_2, "g_optimizer"),
    )
    return model


#: Every argument of the GAN builders, in signature order; `only` marks the variants
#: that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("latent_dim", int, 64),
    Argument("embedding_dim", int, 16, only={"conditional": True}),
    Argument("generator_filters", Sequence[int], (128, 64)),
    Argument("discriminator_filters", Sequence[int], (64, 128), only={"critic": False}),
    Argument("critic_filters", Sequence[int], (64, 128), only={"critic": True}),
    Argument("critic_steps", int, 5, only={"critic": True}),
    Argument("gradient_penalty_weight", float, 10.0, only={"critic": True}),
    Argument("loss", str, "non_saturating", only={"critic": False}),
    Argument("label_smoothing", float, 0.0, only={"critic": False}),
    Argument("instance_noise", float, 0.0, only={"critic": False}),
    Argument("ema_decay", float | None, 0.999),
    Argument("augment", str | None, "auto"),
    Argument("learning_rate", float, 2e-4),
    Argument("beta_1", float, 0.5),
    Argument("beta_2", float, 0.9, only={"critic": True}),
    Argument("seed", int | None, None),
)
BUILDERS = BuilderTable("gan", ARGUMENTS, _build, module=__name__, returns=GAN)

dcgan = BUILDERS.variant(
    "dcgan",
    """DCGAN for any image shape: upsampling conv generator (tanh, [-1, 1]) vs strided-conv discriminator.

    Train it on images scaled to [-1, 1] (`load_dataset(..., scale="symmetric")`).
    """,
    conditional=False, critic=False,
)
cgan = BUILDERS.variant(
    "cgan",
    """Conditional GAN: label + noise in, projection discriminator that sees the label.

    Train it on `(images, labels)` batches with images in [-1, 1]
    (`load_dataset(..., scale="symmetric", labels=True)`); `generate(n, labels=...)`.
    """,
    conditional=True, critic=False,
)
wgan_gp = BUILDERS.variant(
    "wgan_gp",
    """WGAN-GP: Wasserstein critic (layer norm, no batch norm) with a gradient penalty.

    The critic takes `critic_steps` updates per generator update. Images in [-1, 1].
    """,
    conditional=False, critic=True, defaults={"learning_rate": 1e-4},
)


def _build_stylegan(
    *,
    name: str,
    conditional: bool,
    image_shape: Sequence[int],
    latent_dim: int,
    style_dim: int,
    mapping_layers: int,
    synthesis_filters: Sequence[int],
    discriminator_filters: Sequence[int],
    r1_weight: float,
    r1_interval: int,
    mixing_probability: float,
    ema_decay: float | None,
    augment: str | None,
    learning_rate: float,
    beta_1: float,
    beta_2: float,
    seed: int | None,
    num_classes: int | None = None,
) -> StyleGAN:
    """The StyleGAN builder: a style-based generator against a (projection) discriminator."""
    image_shape = check_image_shape(image_shape)
    if conditional and int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    generator = build_style_generator(
        image_shape, latent_dim, style_dim, mapping_layers=mapping_layers,
        filters=synthesis_filters, num_classes=num_classes if conditional else None,
    )
    discriminator = (
        build_projection_discriminator(image_shape, num_classes, discriminator_filters)
        if conditional else build_dcgan_discriminator(image_shape, discriminator_filters)
    )
    model = StyleGAN(
        generator, discriminator, num_classes=num_classes if conditional else None,
        r1_weight=r1_weight, r1_interval=r1_interval, mixing_probability=mixing_probability,
        ema_decay=ema_decay, augment=augment, value_range=SYMMETRIC_RANGE, seed=seed, name=name,
    )
    model.compile(
        d_optimizer=_adam(learning_rate, beta_1, beta_2, "d_optimizer"),
        g_optimizer=_adam(learning_rate, beta_1, beta_2, "g_optimizer"),
    )
    return model


#: Every argument of the StyleGAN builders, in signature order.
STYLE_ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("latent_dim", int, 64),
    Argument("style_dim", int, 64),
    Argument("mapping_layers", int, 4),
    Argument("synthesis_filters", Sequence[int], (128, 64, 32)),
    Argument("discriminator_filters", Sequence[int], (64, 128)),
    Argument("r1_weight", float, 0.1),
    Argument("r1_interval", int, 4),
    Argument("mixing_probability", float, 0.9),
    Argument("ema_decay", float | None, 0.999),
    Argument("augment", str | None, "auto"),
    Argument("learning_rate", float, 1e-3),
    Argument("beta_1", float, 0.0),
    Argument("beta_2", float, 0.99),
    Argument("seed", int | None, None),
)
STYLE_BUILDERS = BuilderTable("gan", STYLE_ARGUMENTS, _build_stylegan, module=__name__, returns=StyleGAN)

stylegan = STYLE_BUILDERS.variant(
    "stylegan",
    """StyleGAN2-style generator for any image shape: mapping network, modulated convolutions
    from a learned constant, per-layer noise; lazy R1 and style mixing in training.

    Images in [-1, 1]. `generate(n, seed=s, truncation=0.7)` trades diversity for
    fidelity; `mix_styles(seed_a, seed_b, crossover=k)` mixes coarse and fine styles.
    """,
    conditional=False,
)
stylegan_conditional = STYLE_BUILDERS.variant(
    "stylegan_conditional",
    """Class-conditional StyleGAN: the label's embedding joins z in the mapping network,
    against a projection discriminator. Train on `(images, labels)` in [-1, 1].
    """,
    conditional=True,
)
