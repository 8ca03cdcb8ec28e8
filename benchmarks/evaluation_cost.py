"""What the tuning objectives cost: importance-weighted NLL and FID/KID, timed.

    python benchmarks/evaluation_cost.py                       # 2,000 images, 10,000 samples
    python benchmarks/evaluation_cost.py --nll-images 200      # a slice, on a busy machine

NLL: `vae_conv` (builder defaults, 28x28) `log_likelihood(x, num_samples=1000)`, with
the decoder evaluations compiled into one graph (as shipped) and run op by op (eager,
as before), alternating; the floor is the decoder's forward FLOPs for every sample at
the convolution peak measured in the same run. FID/KID: `dcgan` (28x28) generates the
samples; features of real and generated images with the shipped MNIST classifier, the
generated ones in one pass for features and classes together (as shipped) and in two
(as before), then FID and KID (10 subsets of 1,000). Images are random: the cost does not
depend on the weights or the data.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import numpy as np
from _common import (
    alternating_rounds,
    command_line,
    fid_kid_classes,
    forward_flops,
    load_average,
    load_note,
    machine_note,
    markdown_row,
    markdown_table,
    measured_peaks,
    wall_seconds,
)

import keras_genzoo
from keras_genzoo.evaluation import load_feature_classifier
from keras_genzoo.evaluation.metrics import fid_from_features, kid_from_features


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nll-images", type=int, default=2000)
    parser.add_argument("--num-samples", type=int, default=1000, help="k of the NLL")
    parser.add_argument("--fid-samples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best of)")
    return parser.parse_args()


def main(args: argparse.Namespace, command: str) -> None:
    rng = np.random.default_rng(0)
    _, conv_peak = measured_peaks()
    load_before = load_average()

    vae = keras_genzoo.create_model(
        "vae_conv", image_shape=(28, 28, 1), likelihood="bernoulli", seed=0
    )
    x = (rng.random((args.nll_images, 28, 28, 1)) < 0.2).astype(np.float32)
    functions = {"eager (before)": vae._importance_log_weights}
    vae.log_likelihood(x[:2], num_samples=args.num_samples, seed=0)  # traces
    functions["compiled (shipped)"] = vae._log_weights_fn

    def nll_seconds(fn) -> float:
        vae._log_weights_fn = fn
        return wall_seconds(lambda: vae.log_likelihood(x, num_samples=args.num_samples, seed=0))

    nll = alternating_rounds(
        {name: functools.partial(nll_seconds, fn) for name, fn in functions.items()}, args.rounds
    )
    decoder_flops = sum(forward_flops(vae.decoder)) * args.nll_images * args.num_samples
    floor = decoder_flops / conv_peak

    gan = keras_genzoo.create_model("dcgan", image_shape=(28, 28, 1), seed=0)
    classifier = load_feature_classifier("mnist")
    real = rng.random((args.fid_samples, 28, 28, 1)).astype(np.float32)

    def evaluation(one_pass: bool) -> None:
        samples = gan.generate(args.fid_samples, seed=0)
        real_features = classifier.features(real)
        if one_pass:
            fid_kid_classes(classifier, real_features, samples, gan.value_range)
        else:
            fake_features = classifier.features(samples, gan.value_range)
            classifier.predict(samples, gan.value_range)
            fid_from_features(real_features, fake_features)
            kid_from_features(real_features, fake_features)

    evaluation(True)  # traces both
    evaluation(False)
    costs = alternating_rounds({
        "one pass (shipped)": lambda: wall_seconds(lambda: evaluation(True)),
        "two passes (before)": lambda: wall_seconds(lambda: evaluation(False)),
    }, args.rounds)

    print(
        f"Command: `{command}`; {machine_note()}, no GPU; "
        f"{load_note(load_before, load_average())}; best of {args.rounds} alternating rounds; "
        f"measured convolution peak {conv_peak / 1e9:.0f} GFLOP/s.\n"
    )
    print(markdown_table(["objective", "variant", "seconds", "speed-up", "floor s", "floor / time"]))
    base = min(nll["eager (before)"])
    for name, times in nll.items():
        seconds = min(times)
        print(markdown_row([
            f"NLL k={args.num_samples}, {args.nll_images} images", name, f"{seconds:.1f}",
            f"{base / seconds:.2f}x", f"{floor:.1f}", f"{100 * floor / seconds:.0f}%",
        ]))
    base = min(costs["two passes (before)"])
    for name, times in costs.items():
        seconds = min(times)
        print(markdown_row([
            f"FID + KID, {args.fid_samples} samples", name, f"{seconds:.1f}", f"{base / seconds:.2f}x",
            "", "",
        ]))


if __name__ == "__main__":
    main(parse_args(), command_line(__file__, sys.argv[1:]))
