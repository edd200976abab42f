import sys
from pathlib import Path

# Lets test modules import the shared helpers in this folder (conformance.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/cases, tests/golden) from the current output")
