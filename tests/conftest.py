from pathlib import Path

import pytest

# tests.broker: the live RabbitMQ fixtures (broker, declared_topology)
pytest_plugins = ("sphinx.testing.fixtures", "tests.broker", "tests.browser")


@pytest.fixture(scope="session")
def rootdir() -> Path:
    return Path(__file__).parent / "roots"
