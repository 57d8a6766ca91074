"""Times the NumPy convolution and pooling against Keras on this CPU.

Usage::

    python -m lab.benchmark_conv [--target solutions] [--repeats 7] [--blas-threads N] [--grading-run]

Times ``conv2d`` on a (32, 150, 150, 3) batch with 32 3x3 filters (the book's
first layer) and ``max_pool2d`` on (32, 148, 148, 32), each against the Keras
layer with the same weights, in the same process, and prints the ratios
(goal: within 3x of Keras). With ``--grading-run`` it also times
``pytest checks/test_conv.py`` end to end, TensorFlow import included.
Figures are the best of ``--repeats`` runs after a warm-up.

NumPy's matrix product runs on OpenBLAS threads, which stall badly when
another process keeps a core busy (measured here: the same conv2d took 35 ms
idle and 150 ms beside a training job). ``--blas-threads 1`` gives figures
that do not depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def best_time(function, repeats: int) -> float:
    function()  # warm-up: first-call allocation and graph tracing are not what we measure
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def load_module(path):
    """The module at ``path``, imported into this process.

    A benchmark of code you trust (the reference, or your own); grading never
    does this, it runs the module in a fenced worker process.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("conv_under_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_conv", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="solutions", help="exercises or solutions (default)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--grading-run", action="store_true", help="also time `pytest checks/test_conv.py`")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="threads for NumPy's OpenBLAS (default: its own choice)")
    args = parser.parse_args(argv)
    if args.blas_threads:
        if "numpy" in sys.modules:
            parser.error("--blas-threads must be set before NumPy is imported")
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.blas_threads)

    import keras
    import numpy as np

    from grader.course import ROOT, resolve_target

    conv = load_module(resolve_target(args.target) / "conv.py")
    rng = np.random.default_rng(0)
    images = rng.standard_normal((32, 150, 150, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 32)).astype(np.float32)
    bias = rng.standard_normal(32).astype(np.float32)
    feature_maps = rng.standard_normal((32, 148, 148, 32)).astype(np.float32)

    conv_layer = keras.layers.Conv2D(32, 3)
    conv_layer.build(images.shape)
    conv_layer.set_weights([kernel, bias])
    pool_layer = keras.layers.MaxPooling2D(2)

    rows = []
    for name, ours, theirs, check in (
        ("conv2d (32, 150, 150, 3) * 32 3x3", lambda: conv.conv2d(images, kernel, bias),
         lambda: keras.ops.convert_to_numpy(conv_layer(images)), 1e-3),
        ("max_pool2d (32, 148, 148, 32) / 2", lambda: conv.max_pool2d(feature_maps),
         lambda: keras.ops.convert_to_numpy(pool_layer(feature_maps)), 0.0),
    ):
        error = float(np.max(np.abs(ours() - theirs())))
        if error > check:
            print(f"{name}: results differ from Keras by {error:.3g}; timing anyway")
        ours_s, keras_s = best_time(ours, args.repeats), best_time(theirs, args.repeats)
        rows.append((name, ours_s, keras_s))

    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"NumPy {np.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
          f"OpenBLAS threads: {blas}, oneDNN: {onednn}")
    print(f"{'operation':<36}{'NumPy ms':>10}{'Keras ms':>10}{'ratio':>8}")
    for name, ours_s, keras_s in rows:
        print(f"{name:<36}{ours_s * 1e3:>10.1f}{keras_s * 1e3:>10.1f}{ours_s / keras_s:>7.2f}x")

    if args.grading_run:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "checks/test_conv.py", f"--target={args.target}",
                              "-q", "-p", "no:cacheprovider"], capture_output=True, text=True, cwd=ROOT)
        last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-300:]
        print(f"pytest checks/test_conv.py --target={args.target}: {time.perf_counter() - start:.1f} s wall ({last})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
