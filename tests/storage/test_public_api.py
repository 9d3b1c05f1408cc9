"""The curated surface of ``sluice.storage``: every exported name resolves, lazily or not."""

import importlib
import subprocess
import sys

import sluice.storage


def test_every_exported_name_resolves() -> None:
    for name in sluice.storage.__all__:
        assert getattr(sluice.storage, name) is not None, name


def test_importing_the_package_does_not_load_boto3_or_webdav4() -> None:
    code = "import sys, sluice.storage; print('boto3' in sys.modules, 'webdav4' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    module = importlib.import_module("sluice.storage")
    assert not hasattr(module, "NoSuchThing")
