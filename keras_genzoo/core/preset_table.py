"""The presets the zoo declares: each family lists its own beside its model
(`keras_genzoo/models/<family>/presets.py`) and registers them here on import.

A declaration says what a preset is (model, tag, one-line description), how it is
built (the zoo config it trains from, relative to the repository) and what data that
needs. The built artefacts live in `pretrained/<model>/<tag>/`; the presets layer
(`keras_genzoo.presets`) lists a preset when it is declared and built, and reports the
declared ones whose artefacts are missing.
"""

from __future__ import annotations

import dataclasses
import fnmatch


@dataclasses.dataclass(frozen=True)
class PresetDeclaration:
    """One preset: `model.tag`, the zoo config that trains it, what it is, its data.

    `zoo_config` is relative to the repository (`zoo_configs/<model>_<tag>.json`) or
    absolute; `data` is the dataset it reads (`"digits"` ships with scikit-learn;
    `"mnist"` needs its IDX files).
    """

    model: str
    tag: str
    zoo_config: str
    description: str
    data: str

    @property
    def name(self) -> str:
        return f"{self.model}.{self.tag}"


class PresetDeclarationError(ValueError):
    """Two different declarations of one preset name, or a malformed one."""


_DECLARED: dict[str, PresetDeclaration] = {}


def register_presets(*declarations: PresetDeclaration) -> None:
    """Declare presets; declaring the same one again is harmless, a different one under a
    taken name raises `PresetDeclarationError`."""
    for declaration in declarations:
        if not declaration.model or not declaration.tag or "." in declaration.model:
            raise PresetDeclarationError(
                f"A preset needs a model name without dots and a tag, got {declaration.name!r}."
            )
        known = _DECLARED.get(declaration.name)
        if known is not None and known != declaration:
            raise PresetDeclarationError(
                f"The preset {declaration.name!r} is declared already, differently: {known}."
            )
        _DECLARED[declaration.name] = declaration


def declared_presets(pattern: str | None = None) -> dict[str, PresetDeclaration]:
    """`{"model.tag": declaration}` of every declared preset, sorted by name, optionally
    filtered by a shell-style pattern."""
    names = sorted(_DECLARED)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return {n: _DECLARED[n] for n in names}
