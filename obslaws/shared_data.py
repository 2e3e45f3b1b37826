"""Where the shared public data lives: ``$OBSLAWS_SHARED``, else ``shared/`` beside the project root.

The reproduction checks, the registry builder and the speed scripts read the papers' public data
(``sloth/``, ``pythia-evals/``, ``loss2loss/``, ...), which is not shipped with obslaws. Set
``OBSLAWS_SHARED`` to the folder that holds it (or its ``data/`` folder). Without it, the
project root is found from the working directory (the nearest folder, upwards, with this
project's ``pyproject.toml``), else from the package's own location in a source checkout, and the
data is looked for in ``../shared`` beside it.

>>> import os
>>> os.environ["OBSLAWS_SHARED"] = "/data/obslaws-shared"
>>> str(shared_root())
'/data/obslaws-shared'
>>> del os.environ["OBSLAWS_SHARED"]
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

ENV = "OBSLAWS_SHARED"


def _is_project_root(folder: Path) -> bool:
    return (folder / "pyproject.toml").is_file() and (folder / "obslaws" / "__init__.py").is_file()


def project_roots() -> Iterator[Path]:
    """The project roots to look beside: from the working directory upwards, then the package's."""
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if _is_project_root(folder):
            yield folder
            break
    package_root = Path(__file__).resolve().parent.parent
    if _is_project_root(package_root):
        yield package_root


def shared_root() -> Path:
    """``$OBSLAWS_SHARED``, else the first ``../shared`` beside a project root that exists.

    Where none exists the path beside the first root is returned, so that a caller's "not
    found" message names where the data was expected.
    """
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    candidates = [root.parent / "shared" for root in project_roots()]
    found = next((path for path in candidates if path.is_dir()), None)
    return found or (candidates[0] if candidates else Path.cwd().parent / "shared")


def shared_data_dir() -> Path:
    """The folder with the data sets themselves: ``<shared>/data`` when there is one, else ``<shared>``."""
    root = shared_root()
    return root / "data" if (root / "data").is_dir() else root
