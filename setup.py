"""mood-edge: the Pi daemon (edge/) and the training host (convert/).

The edge install is small on purpose: LiteRT, OpenCV headless, numpy and paho-mqtt. TensorFlow
and everything else the training host needs come with the ``train`` extra.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _files(folder: str, pattern: str = "*") -> list[str]:
    return sorted(str(p) for p in (HERE / folder).glob(pattern) if p.is_file())


setup(
    name="mood-edge",
    version="0.1.0",
    description="A Raspberry Pi mood sensor: camera -> faces -> int8 mood model -> movie picks -> MQTT",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["edge", "edge.*", "convert", "convert.*"]),
    install_requires=[
        # tflite-runtime is accepted at run time where it is what is installed (Python <= 3.11, numpy 1)
        "ai-edge-litert>=1.2",
        # OpenCV 5 has no CascadeClassifier and ships no Haar cascades
        "opencv-python-headless>=4.10,<5",
        "numpy>=1.23",
        "paho-mqtt>=2.0,<3",
        # the household library's .nfo files are read with DTDs and entities refused (pure Python, PSF licence)
        "defusedxml>=0.7",
    ],
    extras_require={
        "train": [
            "tensorflow-cpu==2.21.0; platform_machine=='x86_64'",
            "tensorflow==2.21.0; platform_machine!='x86_64'",
            "h5py>=3.8",
            "matplotlib>=3.7",
            "tqdm>=4.60",
            # real offline faces for calibration and fidelity checks when no training data is given
            "scikit-image>=0.22",
        ],
        "demo": ["amqtt==0.12.1"],
        # scikit-image: the real faces and scenes of `mood-edge bench --distance`
        "bench": ["matplotlib>=3.7", "psutil>=5.9", "scikit-image>=0.22"],
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "hypothesis>=6.100",
            "scikit-image>=0.22",
            "jsonschema>=4.20",
            "jinja2>=3.1",
            "pyyaml>=6",
            "psutil>=5.9",
            "matplotlib>=3.7",
            "amqtt==0.12.1",
        ],
    },
    data_files=[
        ("share/mood-edge/models", _files("models")),
        ("share/mood-edge/samples", _files("samples")),
        ("share/mood-edge", [p for p in ("catalog.json", "catalog.schema.json", "config.example.toml")
                             if (HERE / p).exists()]),
    ],
    entry_points={
        "console_scripts": [
            "mood-edge=edge.__main__:main",
            "mood-convert=convert.__main__:main",
        ],
    },
)
