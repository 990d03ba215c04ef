"""Fixtures of the Alipay side of gateway tests: the fake Alipay gateway (a real local server) and settings using it.

Loaded by `pytest_plugins` in the test modules that need them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from bots.fakes.alipay import FakeAlipay
from gateway.app import create_app
from tests.gateway.alipay_data import APP_ID, CONSENT_METHOD
from tickets.settings import Settings


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    """Our app's key pair: the fake checks our requests with its public half."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fake_alipay(app_key: rsa.RSAPrivateKey) -> Iterator[FakeAlipay]:
    public = app_key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with FakeAlipay(APP_ID, public) as fake:
        fake.start()
        yield fake


@pytest.fixture
def alipay_settings(settings: Settings, fake_alipay: FakeAlipay, app_key: rsa.RSAPrivateKey) -> Settings:
    """The test settings with the Alipay channel on, pointed at the fake."""
    settings.alipay_app_id = APP_ID
    settings.alipay_app_private_key = app_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    settings.alipay_public_key = fake_alipay.public_key_pem
    settings.alipay_gateway = fake_alipay.gateway_url
    settings.alipay_consent_methods = [CONSENT_METHOD]
    settings.upload_dir = settings.var_dir / "photos"
    return settings


@pytest.fixture
def alipay_client(alipay_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(alipay_settings, run_jobs=False)) as client:
        yield client

