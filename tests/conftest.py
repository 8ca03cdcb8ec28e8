import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Some virtual machines advertise Intel AMX but fault on its instructions, which kills
# the process (SIGILL) in oneDNN's bfloat16 matmuls; cap oneDNN just below AMX. float32
# kernels never use AMX, so this changes nothing for them.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import pytest
import tensorflow as tf

import keras_genzoo

# Two logical CPU devices for the whole test run, so tests can run MirroredStrategy with
# two replicas. It must happen before TensorFlow initialises its devices; ops without a
# strategy still run on the first device only.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The folder the tests import keras_genzoo from: the source tree in development
# (PYTHONPATH), site-packages in CI (pytest puts tests/, not the repository, on sys.path).
# Subprocesses put it first on their PYTHONPATH, so they run the same code.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(keras_genzoo.__file__)))
MNIST_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "datasets", "mnist")


@pytest.fixture(scope="module")
def mirrored():
    """Two replicas on the two logical CPUs set up above. Reducing on one device keeps
    TF's collective ops out: a second collective-based MirroredStrategy in the same
    process reuses their instance keys (tensorflow#62790)."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    assert len(devices) == 2, "conftest.py should give two logical CPUs"
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """The real MNIST test split (10,000 images) kept beside the project."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"MNIST IDX files not found in {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(1234)
    yield


def pytest_report_header(config) -> str:
    return f"keras_genzoo {keras_genzoo.__version__} from {os.path.dirname(keras_genzoo.__file__)}"
