"""Packaging beyond pyproject.toml: the shipped presets live in the repository's top-level
`pretrained/` folder and are installed as the package data `keras_genzoo/pretrained/`."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["keras_genzoo*"]), "keras_genzoo.pretrained"],
    package_dir={"keras_genzoo.pretrained": "pretrained"},
    package_data={
        "keras_genzoo": ["evaluation/weights/*.json", "evaluation/weights/*.h5"],
        "keras_genzoo.pretrained": ["*/*/*.json", "*/*/*.weights.h5", "*/*/*.npz"],
    },
)
