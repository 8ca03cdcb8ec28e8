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
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import numpy as np  # noqa: E402
from overhead import forward_flops, measured_peaks  # noqa: E402

import keras_genzoo  # noqa: E402
from keras_genzoo.evaluation import load_feature_classifier  # noqa: E402
from keras_genzoo.evaluation.metrics import fid_from_features, kid_from_features  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nll-images", type=int, default=2000)
    parser.add_argument("--num-samples", type=int, default=1000, help="k of the NLL")
    parser.add_argument("--fid-samples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best of)")
    return parser.parse_args()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    _, conv_peak = measured_peaks()
    load_before = os.getloadavg()[0]

    vae = keras_genzoo.create_model("vae_conv", image_shape=(28, 28, 1), seed=0)
    x = (rng.random((args.nll_images, 28, 28, 1)) < 0.2).astype(np.float32)
    variants = {"eager (before)": vae._importance_log_weights}
    vae.log_likelihood(x[:2], num_samples=args.num_samples, seed=0)  # traces
    variants["compiled (shipped)"] = vae._log_weights_fn
    nll = {}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            vae._log_weights_fn = fn
            seconds = timed(lambda: vae.log_likelihood(x, num_samples=args.num_samples, seed=0))
            nll[name] = min(nll.get(name, np.inf), seconds)
    decoder_flops = sum(forward_flops(vae.decoder)) * args.nll_images * args.num_samples
    floor = decoder_flops / conv_peak

    gan = keras_genzoo.create_model("dcgan", image_shape=(28, 28, 1), seed=0)
    classifier = load_feature_classifier("mnist")
    real = rng.random((args.fid_samples, 28, 28, 1)).astype(np.float32)
    costs = {}

    def evaluation(one_pass: bool) -> None:
        samples = gan.generate(args.fid_samples, seed=0)
        real_features = classifier.features(real)
        if one_pass:
            fake_features, _ = classifier.features_and_predictions(samples, gan.value_range)
        else:
            fake_features = classifier.features(samples, gan.value_range)
            classifier.predict(samples, gan.value_range)
        fid_from_features(real_features, fake_features)
        kid_from_features(real_features, fake_features)

    evaluation(True)  # traces both
    evaluation(False)
    for _ in range(args.rounds):
        for name, one_pass in (("one pass (shipped)", True), ("two passes (before)", False)):
            costs[name] = min(costs.get(name, np.inf), timed(lambda: evaluation(one_pass)))
    load_after = os.getloadavg()[0]

    print(
        f"Command: `python benchmarks/evaluation_cost.py --nll-images {args.nll_images} "
        f"--fid-samples {args.fid_samples}`; {os.cpu_count()} CPUs, no GPU; load average "
        f"{load_before:.1f} before, {load_after:.1f} after; best of {args.rounds} alternating "
        f"rounds; measured convolution peak {conv_peak / 1e9:.0f} GFLOP/s.\n"
    )
    print("| objective | variant | seconds | speed-up | floor s | floor / time |")
    print("|---|---|---|---|---|---|")
    base = nll["eager (before)"]
    for name, seconds in nll.items():
        print(f"| NLL k={args.num_samples}, {args.nll_images} images | {name} | {seconds:.1f} | "
              f"{base / seconds:.2f}x | {floor:.1f} | {100 * floor / seconds:.0f}% |")
    base = costs["two passes (before)"]
    for name, seconds in costs.items():
        print(f"| FID + KID, {args.fid_samples} samples | {name} | {seconds:.1f} | "
              f"{base / seconds:.2f}x | | |")


if __name__ == "__main__":
    main(parse_args())
