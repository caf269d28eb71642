"""Keep the widget's remembered settings (QSettings) out of the user's configuration in tests.

Import :func:`private_settings` into a GUI test module (``# noqa: F401``): as an autouse fixture
it points Qt's user-scope INI settings at a fresh folder for that module, so what one test run
changes never reaches the user's settings nor the next run.
"""

import pytest
from qtpy.QtCore import QSettings


@pytest.fixture(autouse=True, scope="module")
def private_settings(tmp_path_factory):
    """A fresh folder for the user-scope INI settings of the whole module."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    return folder
