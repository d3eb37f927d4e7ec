"""pytest plugin for the nbval runs: a fresh localcloud for the notebooks' kernels.

`make test` runs the notebooks with `-p tests.notebooks.localcloud_plugin`. The server runs in the
pytest process; the kernels nbval starts inherit AWS_ENDPOINT_URL and LOCALCLOUD_PORT, so
`course.start()` in each notebook finds it, exactly as a learner's kernel finds `make lab`'s server.
"""

from __future__ import annotations

import os
import tempfile

import pytest

from localcloud.server import LocalCloud


def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return
    state_dir = tempfile.mkdtemp(prefix="localcloud-notebooks-")
    cloud = LocalCloud(port=0, state_dir=state_dir).start()
    os.environ.update(cloud.client_environment(), LOCALCLOUD_PORT=str(cloud.port), WORKSHOP_MODE="local",
                      WORKSHOP_PARTICIPANT="learner", MPLBACKEND="module://matplotlib_inline.backend_inline")
    config.stash[CLOUD_KEY] = cloud


def pytest_unconfigure(config: pytest.Config) -> None:
    cloud = config.stash.get(CLOUD_KEY, None)
    if cloud is not None:
        cloud.stop()


CLOUD_KEY = pytest.StashKey[LocalCloud]()
