"""TLS and mutual TLS against a live node: versions, trust anchors, client certificates, policy.

The node speaks TLS 1.3 only and presents a cluster certificate from the customer CA; a
client trusts that CA alone. Client certificates are optional until an admin named
``admin``, connected with a client certificate from the customer CA, turns on the
``mtls_enforced`` policy: from then on a connection without one is refused at its hello,
and every open connection without one is dropped at once. A certificate from another CA
is refused by TLS itself, policy or not. This module has its own node (its policy changes),
and the ``enforced`` fixture turns enforcement off again after each test that needs it on.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.client import ClientConfig, GCMParams, HSMClient
from strongroom.constants import Mechanism, Role
from strongroom.errors import (
    ArgumentsBad,
    HSMUnavailable,
    MutualTLSRequired,
    PermissionDenied,
    StrongroomError,
    TrustFailed,
)
from strongroom.protocol import ErrorResponse, Hello

from .cluster import (
    ADMIN,
    ALICE,
    Authority,
    ClientCertificate,
    NodeProcess,
    User,
    running_node,
)
from .raw import TIMEOUT_S, RawConnection, split_address

pytestmark = pytest.mark.xdist_group("net-tls")

POLICY = "mtls_enforced"


@pytest.fixture(scope="module")
def tls_node(
    authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    """This module's own node: its mTLS policy changes."""
    with running_node(authority, tmp_path_factory.mktemp("tls"), "tls") as process:
        yield process


@pytest.fixture(scope="module")
def other_authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """A second, unrelated CA: nothing it signed is trusted by the node or its clients."""
    return Authority.create(tmp_path_factory.mktemp("other-pki"), "stranger")


@pytest.fixture(scope="module")
def good_certificate(authority: Authority) -> ClientCertificate:
    """A client certificate from the customer CA."""
    return authority.issue_client_certificate("operator")


@pytest.fixture(scope="module")
def stranger_certificate(other_authority: Authority) -> ClientCertificate:
    """A client certificate from the other CA."""
    return other_authority.issue_client_certificate("stranger")


@pytest.fixture
def admin_mtls(
    authority: Authority, tls_node: NodeProcess, good_certificate: ClientCertificate
) -> Iterator[HSMClient]:
    """The admin, connected with a client certificate from the customer CA."""
    with authority.client([tls_node.address], ADMIN, certificate=good_certificate) as client:
        yield client


@pytest.fixture
def enforced(admin_mtls: HSMClient) -> Iterator[HSMClient]:
    """mTLS enforcement on for the test (yields the admin's client); off again afterwards."""
    admin_mtls.set_policy(POLICY, True)
    try:
        yield admin_mtls
    finally:
        admin_mtls.set_policy(POLICY, False)
        assert admin_mtls.get_policy()[POLICY] is False


def refusals(node: NodeProcess, code: str) -> int:
    """How many connections the node's log says it refused with ``code``."""
    return sum(
        1
        for event in node.log_events()
        if event["event"] == "connection-refused" and event["code"] == code
    )


def assert_works(client: HSMClient) -> None:
    """A crypto round trip succeeds."""
    key = client.generate_aes_key(128)
    sealed = key.encrypt(Mechanism.AES_GCM, b"tls", GCMParams())
    assert key.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == b"tls"


# --- TLS versions and trust -------------------------------------------------------------------


def test_tls_1_2_is_refused(authority: Authority, tls_node: NodeProcess) -> None:
    """A client that offers at most TLS 1.2 fails the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cafile=str(authority.trust_anchor))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(split_address(tls_node.address), timeout=TIMEOUT_S) as sock,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(sock).close()
    with authority.client([tls_node.address], ALICE) as client:
        assert_works(client)


def test_tls_1_3_is_what_the_sdk_gets(authority: Authority, tls_node: NodeProcess) -> None:
    """The negotiated version is TLS 1.3, and the node's certificate is its cluster one."""
    with RawConnection(tls_node.address, authority.trust_anchor) as conn:
        assert conn.sock.version() == "TLSv1.3"
        peer = conn.sock.getpeercert()
        assert peer is not None
        assert ("IP Address", "127.0.0.1") in peer.get("subjectAltName", ())
        assert conn.hello()["mtls"] is False


def test_client_trusting_another_ca_gets_trust_failed(
    other_authority: Authority, tls_node: NodeProcess
) -> None:
    """A client whose trust anchor did not sign the node's certificate refuses the node."""
    started = time.monotonic()
    with pytest.raises(TrustFailed):
        other_authority.client([tls_node.address])
    assert time.monotonic() - started < TIMEOUT_S


def test_client_with_a_missing_trust_anchor_gets_trust_failed(
    tls_node: NodeProcess, tmp_path: Path
) -> None:
    """A trust anchor file that cannot be read is TRUST_FAILED before anything is sent."""
    missing = ClientConfig(hsms=(tls_node.address,), trust_anchor=str(tmp_path / "missing.pem"))
    with pytest.raises(TrustFailed):
        HSMClient.connect(missing)


# --- client certificates, without enforcement ------------------------------------------------


def test_client_certificate_is_optional_by_default(
    authority: Authority, tls_node: NodeProcess, good_certificate: ClientCertificate
) -> None:
    """Without enforcement, clients with and without a certificate are both served."""
    with RawConnection(tls_node.address, authority.trust_anchor) as plain:
        assert plain.hello()["mtls"] is False
    with RawConnection(
        tls_node.address, authority.trust_anchor, certificate=good_certificate
    ) as mutual:
        assert mutual.hello()["mtls"] is True
    with authority.client([tls_node.address], ALICE) as client:
        assert_works(client)


def test_setting_mtls_enforced_needs_a_mutual_tls_connection(
    authority: Authority, tls_node: NodeProcess
) -> None:
    """The admin cannot turn enforcement on over a connection without a client certificate."""
    with authority.client([tls_node.address], ADMIN) as admin:
        with pytest.raises(MutualTLSRequired) as caught:
            admin.set_policy(POLICY, True)
        assert caught.value.code == "MTLS_REQUIRED"
        assert admin.get_policy()[POLICY] is False


def test_only_the_user_named_admin_may_set_mtls_enforced(
    authority: Authority,
    tls_node: NodeProcess,
    good_certificate: ClientCertificate,
    admin_mtls: HSMClient,
) -> None:
    """Another admin, or a crypto user, is refused even over mutual TLS."""
    deputy = User("deputy_admin", "deputy-password-1")
    if deputy.name not in {u["username"] for u in admin_mtls.list_users()}:
        admin_mtls.create_user(deputy.name, deputy.password, Role.ADMIN)
    for user in (deputy, ALICE):
        with (
            authority.client([tls_node.address], user, certificate=good_certificate) as client,
            pytest.raises(PermissionDenied),
        ):
            client.set_policy(POLICY, True)
    assert admin_mtls.get_policy()[POLICY] is False


# --- enforcement on ---------------------------------------------------------------------------


def test_enforcement_refuses_a_client_without_a_certificate(
    authority: Authority, tls_node: NodeProcess, enforced: HSMClient
) -> None:
    """With enforcement on, a client without a certificate is refused at its hello."""
    before = refusals(tls_node, "MTLS_REQUIRED")
    started = time.monotonic()
    with pytest.raises(MutualTLSRequired) as caught:
        authority.client([tls_node.address], ALICE)
    assert caught.value.code == "MTLS_REQUIRED"
    assert time.monotonic() - started < TIMEOUT_S
    assert refusals(tls_node, "MTLS_REQUIRED") > before
    with RawConnection(tls_node.address, authority.trust_anchor) as conn:
        conn.send_message(Hello({"wire": [1]}))
        messages = conn.closing_messages()
    assert [(m.request_id, m.code) for m in messages if isinstance(m, ErrorResponse)] == [
        (0, "MTLS_REQUIRED")
    ]
    assert len(messages) == 1


@pytest.mark.parametrize("enforcing", [False, True], ids=["policy-off", "policy-on"])
def test_certificate_from_another_ca_is_refused_by_tls(
    authority: Authority,
    tls_node: NodeProcess,
    stranger_certificate: ClientCertificate,
    admin_mtls: HSMClient,
    enforcing: bool,
) -> None:
    """A client certificate the anchor did not sign fails the handshake: HSM_UNAVAILABLE.

    TLS 1.3 finishes the client's side of the handshake before the node checks the
    client's certificate; the node then drops the connection (with no alert that the
    client reads), so the SDK reports the node unreachable rather than TRUST_FAILED.
    """
    admin_mtls.set_policy(POLICY, enforcing)
    try:
        with pytest.raises(StrongroomError) as caught:
            authority.client([tls_node.address], ALICE, certificate=stranger_certificate)
        assert type(caught.value) is HSMUnavailable
    finally:
        admin_mtls.set_policy(POLICY, False)


def test_enforcement_accepts_a_proper_client_certificate(
    authority: Authority,
    tls_node: NodeProcess,
    good_certificate: ClientCertificate,
    enforced: HSMClient,
) -> None:
    """With enforcement on, a client with a customer-CA certificate is served as usual."""
    with authority.client([tls_node.address], ALICE, certificate=good_certificate) as client:
        assert_works(client)
    with RawConnection(
        tls_node.address, authority.trust_anchor, certificate=good_certificate
    ) as conn:
        assert conn.hello()["mtls"] is True
        assert conn.ok("wire.ping") is None


def test_enabling_enforcement_drops_connections_without_a_certificate(
    authority: Authority,
    tls_node: NodeProcess,
    good_certificate: ClientCertificate,
    admin_mtls: HSMClient,
) -> None:
    """Turning enforcement on closes every open non-mTLS connection; mTLS ones carry on."""
    plain_raw = RawConnection(tls_node.address, authority.trust_anchor)
    mutual_raw = RawConnection(
        tls_node.address, authority.trust_anchor, certificate=good_certificate
    )
    plain_client = authority.client([tls_node.address], ALICE)
    mutual_client = authority.client([tls_node.address], ALICE, certificate=good_certificate)
    try:
        plain_raw.hello()
        mutual_raw.hello()
        session_key = plain_client.generate_aes_key(128)
        assert_works(mutual_client)
        admin_mtls.set_policy(POLICY, True)
        try:
            dropped = plain_raw.closing_messages()  # closed without being asked
            assert len(dropped) == 1
            assert isinstance(dropped[0], ErrorResponse)
            assert (dropped[0].request_id, dropped[0].code) == (0, "MTLS_REQUIRED")
            assert mutual_raw.ok("wire.ping") is None
            assert_works(mutual_client)
            # the session key's connection is gone (the request's outcome is unknown)
            with pytest.raises(HSMUnavailable):
                session_key.encrypt(Mechanism.AES_GCM, b"x", GCMParams())
            # a fresh connection is refused at its hello
            with pytest.raises(MutualTLSRequired):
                plain_client.generate_random(8)
        finally:
            admin_mtls.set_policy(POLICY, False)
        # once enforcement is off again, the plain client reconnects by itself
        assert len(plain_client.generate_random(8)) == 8
    finally:
        for client in (plain_client, mutual_client):
            client.close()
        plain_raw.close()
        mutual_raw.close()


# --- registered trust anchors (`cluster mtls register-trust-anchor`) ---------------------------


def test_registered_trust_anchors_admit_their_client_certificates(
    authority: Authority,
    tls_node: NodeProcess,
    other_authority: Authority,
    admin_mtls: HSMClient,
) -> None:
    """Register another CA: its client certificates get in; deregister it: they are refused."""
    # (a subject unlike the CA's: OpenSSL takes a leaf named like its issuer for self-signed)
    stranger_certificate = other_authority.issue_client_certificate("visitor")
    with pytest.raises((TrustFailed, HSMUnavailable)):
        authority.client([tls_node.address], ALICE, certificate=stranger_certificate)
    fingerprint = admin_mtls.register_trust_anchor(other_authority.trust_anchor.read_bytes())
    try:
        assert [len(a) for a in admin_mtls.list_trust_anchors()] == [len(other_authority.ca_cert)]
        with authority.client(
            [tls_node.address], ALICE, certificate=stranger_certificate
        ) as client:
            assert_works(client)
            with pytest.raises(PermissionDenied):
                client.register_trust_anchor(other_authority.trust_anchor.read_bytes())
        with pytest.raises(ArgumentsBad, match="already registered"):
            admin_mtls.register_trust_anchor(other_authority.ca_cert)
        leaf = stranger_certificate.cert.read_bytes()
        with pytest.raises(ArgumentsBad, match="CA"):
            admin_mtls.register_trust_anchor(leaf)
    finally:
        admin_mtls.deregister_trust_anchor(fingerprint)
    assert admin_mtls.list_trust_anchors() == []
    with pytest.raises(TrustFailed):
        authority.client([tls_node.address], ALICE, certificate=stranger_certificate)
    with pytest.raises(ArgumentsBad, match="no trust anchor"):
        admin_mtls.deregister_trust_anchor(fingerprint)


def test_at_most_two_trust_anchors(
    tls_node: NodeProcess, admin_mtls: HSMClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CloudHSM's limit: a third anchor is refused until one is deregistered."""
    cas = [Authority.create(tmp_path_factory.mktemp(f"anchor-{i}"), f"anchor{i}") for i in range(3)]
    prints = [admin_mtls.register_trust_anchor(ca.ca_cert) for ca in cas[:2]]
    try:
        with pytest.raises(ArgumentsBad, match="at most 2"):
            admin_mtls.register_trust_anchor(cas[2].ca_cert)
    finally:
        for fingerprint in prints:
            admin_mtls.deregister_trust_anchor(fingerprint)
