"""Where the backup commands find their regions, KMS keys and identities: the config file.

This module owns the ``strongroom`` configuration: reading a TOML file (``--config``) or,
without one, the embedded default rooted at ``--data-dir`` (one region ``local``: a
filesystem store and a local KMS key file, plus development identities made on first use
with a loud warning), checking every entry with a clear message (`UsageError`, exit 2), and
building the backup service's regions and the identities from it. docs/cli.md describes
the format. Credentials never appear in the file: it names environment variables, which are
read only when a provider is built, and their values go to the provider and nowhere else.
It must not know what the commands do with the service.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.cli.output import UsageError, warn
from strongroom.errors import ArgumentsBad

if TYPE_CHECKING:
    from strongroom.backup.kms.api import KMSProvider
    from strongroom.backup.objectstore.api import ObjectStore
    from strongroom.backup.service import BackupService, Region
    from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEV_MANUFACTURER_ID",
    "DEV_SERVICE_ID",
    "AWSKMSSettings",
    "BackupSetup",
    "FilesystemSettings",
    "LocalKMSSettings",
    "OpenBaoSettings",
    "RegionSettings",
    "S3Settings",
    "Settings",
    "default_settings",
    "load_settings",
    "parse_settings",
]

DEFAULT_DATA_DIR = Path("strongroom-data")
DEV_MANUFACTURER_ID = "dev-manufacturer"
DEV_SERVICE_ID = "dev-service"
_DEFAULT_REGION = "local"
_DEFAULT_KEY_ID = "backups"
_REGION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

_STORE_KEYS = {
    "filesystem": {"path"},
    "s3": {
        "bucket",
        "region",
        "endpoint_url",
        "access_key_env",
        "secret_key_env",
        "prefix",
    },
}
_KMS_KEYS = {
    "local": {"key_file"},
    "openbao": {"address", "token_env", "mount", "ca_file"},
    "aws": {
        "kms_region",
        "kms_endpoint_url",
        "kms_access_key_env",
        "kms_secret_key_env",
        "kms_session_token_env",
    },
}


# --- settings: what the file says, checked, with nothing secret in it ----------------------


@dataclass(frozen=True, slots=True)
class FilesystemSettings:
    """A filesystem object store rooted at ``path``."""

    path: Path


@dataclass(frozen=True, slots=True)
class S3Settings:
    """An S3 bucket; credentials come from the named environment variables (or boto3's chain)."""

    bucket: str
    region: str
    endpoint_url: str | None
    access_key_env: str | None
    secret_key_env: str | None
    prefix: str


@dataclass(frozen=True, slots=True)
class LocalKMSSettings:
    """The local KMS key file."""

    key_file: Path


@dataclass(frozen=True, slots=True)
class OpenBaoSettings:
    """OpenBao / Vault transit; the token comes from the environment variable ``token_env``."""

    address: str
    token_env: str
    mount: str
    ca_file: Path | None


@dataclass(frozen=True, slots=True)
class AWSKMSSettings:
    """AWS KMS; credentials from the named environment variables, or boto3's usual chain."""

    region: str
    endpoint_url: str | None
    access_key_env: str | None
    secret_key_env: str | None
    session_token_env: str | None


@dataclass(frozen=True, slots=True)
class RegionSettings:
    """One region: where its backups are stored and which KMS key envelopes them."""

    name: str
    store: FilesystemSettings | S3Settings
    kms: LocalKMSSettings | OpenBaoSettings | AWSKMSSettings
    key_id: str


@dataclass(frozen=True, slots=True)
class Settings:
    """A whole configuration: ``source`` is the config file, or ``None`` for the embedded
    default, which keeps everything under ``data_dir``."""

    source: Path | None
    data_dir: Path | None
    manufacturer_file: Path | None
    service_file: Path | None
    regions: dict[str, RegionSettings]

    @property
    def is_default(self) -> bool:
        """True for the embedded development default (identities are made on first use)."""
        return self.source is None

    def describe(self) -> str:
        """Where the settings came from, for messages."""
        return "the embedded default" if self.source is None else str(self.source)


def default_settings(data_dir: Path) -> Settings:
    """The embedded default: everything under ``data_dir``, one region ``local``."""
    data = data_dir.absolute()
    region = RegionSettings(
        name=_DEFAULT_REGION,
        store=FilesystemSettings(data / "backups" / _DEFAULT_REGION),
        kms=LocalKMSSettings(data / "kms.keys"),
        key_id=_DEFAULT_KEY_ID,
    )
    return Settings(
        source=None,
        data_dir=data,
        manufacturer_file=data / "manufacturer.id",
        service_file=data / "service.id",
        regions={region.name: region},
    )


def load_settings(config: Path | None, data_dir: Path | None) -> Settings:
    """Settings from ``config`` (TOML), or the embedded default rooted at ``data_dir``."""
    if config is None:
        return default_settings(data_dir if data_dir is not None else DEFAULT_DATA_DIR)
    try:
        with config.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"config file {config} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {config}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{config}: not valid TOML: {exc}") from None
    return parse_settings(document, config.absolute().parent, source=config)


def parse_settings(document: Mapping[str, Any], base: Path, *, source: Path) -> Settings:
    """Check a parsed config document; relative paths are taken from ``base``."""
    where = str(source)
    _only(document, {"identities", "regions"}, where)
    identities = _table(document.get("identities", {}), f"{where}: [identities]")
    _only(identities, {"manufacturer", "service"}, f"{where}: [identities]")
    manufacturer = _opt_str(identities, "manufacturer", f"{where}: [identities]")
    service = _opt_str(identities, "service", f"{where}: [identities]")
    regions_doc = _table(document.get("regions", {}), f"{where}: [regions]")
    if not regions_doc:
        raise UsageError(f"{where}: no regions; add at least one [regions.NAME] table")
    regions: dict[str, RegionSettings] = {}
    for name, body in regions_doc.items():
        if not _REGION_NAME.fullmatch(name):
            raise UsageError(
                f"{where}: region name {name!r} is not 1-63 characters of A-Z a-z 0-9 . _ -"
            )
        regions[name] = _region(name, _table(body, f"{where}: [regions.{name}]"), base, where)
    return Settings(
        source=source,
        data_dir=None,
        manufacturer_file=None if manufacturer is None else _path(base, manufacturer),
        service_file=None if service is None else _path(base, service),
        regions=regions,
    )


def _region(name: str, body: Mapping[str, Any], base: Path, where: str) -> RegionSettings:
    at = f"{where}: [regions.{name}]"
    store_kind = _req_str(body, "store", at)
    kms_kind = _req_str(body, "kms", at)
    if store_kind not in _STORE_KEYS:
        raise UsageError(f'{at}: store = {store_kind!r}; use "filesystem" or "s3"')
    if kms_kind not in _KMS_KEYS:
        raise UsageError(f'{at}: kms = {kms_kind!r}; use "local", "openbao" or "aws"')
    _only(body, {"store", "kms", "key_id"} | _STORE_KEYS[store_kind] | _KMS_KEYS[kms_kind], at)
    store: FilesystemSettings | S3Settings
    if store_kind == "filesystem":
        store = FilesystemSettings(_path(base, _req_str(body, "path", at)))
    else:
        store = S3Settings(
            bucket=_req_str(body, "bucket", at),
            region=_req_str(body, "region", at),
            endpoint_url=_opt_url(body, "endpoint_url", at),
            access_key_env=_opt_env(body, "access_key_env", at),
            secret_key_env=_opt_env(body, "secret_key_env", at),
            prefix=_opt_str(body, "prefix", at) or "",
        )
        if (store.access_key_env is None) != (store.secret_key_env is None):
            raise UsageError(f"{at}: give both access_key_env and secret_key_env, or neither")
    kms: LocalKMSSettings | OpenBaoSettings | AWSKMSSettings
    if kms_kind == "local":
        kms = LocalKMSSettings(_path(base, _req_str(body, "key_file", at)))
    elif kms_kind == "openbao":
        ca_file = _opt_str(body, "ca_file", at)
        token_env = _opt_env(body, "token_env", at)
        if token_env is None:
            raise UsageError(f"{at}: openbao needs token_env (the name of a variable)")
        kms = OpenBaoSettings(
            address=_req_url(body, "address", at),
            token_env=token_env,
            mount=_opt_str(body, "mount", at) or "transit",
            ca_file=None if ca_file is None else _path(base, ca_file),
        )
    else:
        kms = AWSKMSSettings(
            region=_req_str(body, "kms_region", at),
            endpoint_url=_opt_url(body, "kms_endpoint_url", at),
            access_key_env=_opt_env(body, "kms_access_key_env", at),
            secret_key_env=_opt_env(body, "kms_secret_key_env", at),
            session_token_env=_opt_env(body, "kms_session_token_env", at),
        )
        if (kms.access_key_env is None) != (kms.secret_key_env is None):
            raise UsageError(
                f"{at}: give both kms_access_key_env and kms_secret_key_env, or neither"
            )
    key_id = _req_str(body, "key_id", at)
    return RegionSettings(name=name, store=store, kms=kms, key_id=key_id)


def _only(body: Mapping[str, Any], allowed: set[str], at: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise UsageError(
            f"{at}: unknown setting {unknown[0]!r} (allowed here: {', '.join(sorted(allowed))})"
        )


def _table(value: object, at: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{at} must be a table")
    return value


def _opt_str(body: Mapping[str, Any], key: str, at: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{at}: {key} must be a non-empty string")
    return value


def _req_str(body: Mapping[str, Any], key: str, at: str) -> str:
    value = _opt_str(body, key, at)
    if value is None:
        raise UsageError(f"{at}: {key} is missing")
    return value


def _opt_url(body: Mapping[str, Any], key: str, at: str) -> str | None:
    value = _opt_str(body, key, at)
    if value is not None and not value.startswith(("http://", "https://")):
        raise UsageError(f"{at}: {key} must be an http:// or https:// URL")
    return value


def _req_url(body: Mapping[str, Any], key: str, at: str) -> str:
    value = _opt_url(body, key, at)
    if value is None:
        raise UsageError(f"{at}: {key} is missing")
    return value


def _opt_env(body: Mapping[str, Any], key: str, at: str) -> str | None:
    value = _opt_str(body, key, at)
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise UsageError(
            f"{at}: {key} names an environment variable (letters, digits, _), "
            "not a credential: never put credentials in the file"
        )
    return value


def _path(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _env(name: str | None, at: str) -> str | None:
    """The value of environment variable ``name`` (never echoed)."""
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{at}: environment variable {name} is not set")
    return value


# --- building: providers, the service, identities -----------------------------------------


class BackupSetup:
    """The regions, service and identities a command needs, built on first use.

    Close it (or use it as a context manager) to release the providers' connection pools.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._regions: dict[str, Region] | None = None
        self._closers: list[Any] = []

    def __repr__(self) -> str:
        return f"BackupSetup({self.settings.describe()}, regions={sorted(self.settings.regions)})"

    def __enter__(self) -> BackupSetup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every provider that holds connections."""
        while self._closers:
            self._closers.pop().close()

    # --- regions -------------------------------------------------------------------------------

    def region_names(self) -> list[str]:
        """The configured regions, in file order."""
        return list(self.settings.regions)

    def check_region(self, name: str) -> str:
        """``name`` if it is a configured region, else `UsageError`."""
        if name not in self.settings.regions:
            raise UsageError(
                f"no region {name!r} in {self.settings.describe()} "
                f"(regions: {', '.join(self.settings.regions)})"
            )
        return name

    def regions(self) -> dict[str, Region]:
        """Every configured region, with its object store and KMS built."""
        from strongroom.backup.service import Region

        if self._regions is None:
            self._make_data_dir()
            built: dict[str, Region] = {}
            for name, spec in self.settings.regions.items():
                at = f"{self.settings.describe()}: [regions.{name}]"
                built[name] = Region(name, self._store(spec, at), self._kms(spec, at), spec.key_id)
            self._regions = built
        return self._regions

    def service(self) -> BackupService:
        """A backup service over every configured region."""
        from strongroom.backup.service import BackupService

        return BackupService(self.regions())

    def _store(self, spec: RegionSettings, at: str) -> ObjectStore:
        from strongroom.backup.objectstore import FilesystemObjectStore

        try:
            if isinstance(spec.store, FilesystemSettings):
                return FilesystemObjectStore(spec.store.path)
            from strongroom.backup.objectstore import S3ObjectStore

            s3 = spec.store
            return S3ObjectStore(
                s3.bucket,
                endpoint_url=s3.endpoint_url,
                region=s3.region,
                access_key=_env(s3.access_key_env, at),
                secret_key=_env(s3.secret_key_env, at),
                prefix=s3.prefix,
            )
        except ArgumentsBad as exc:
            raise UsageError(f"{at}: {exc.message}") from None

    def _kms(self, spec: RegionSettings, at: str) -> KMSProvider:
        from strongroom.backup.kms import AWSKMS, LocalKMS, OpenBaoKMS

        kms = spec.kms
        try:
            if isinstance(kms, LocalKMSSettings):
                return LocalKMS(kms.key_file)
            if isinstance(kms, OpenBaoSettings):
                token = _env(kms.token_env, at)
                assert token is not None
                verify: bool | str = True if kms.ca_file is None else str(kms.ca_file)
                bao = OpenBaoKMS(kms.address, token, kms.mount, verify=verify)
                self._closers.append(bao)
                return bao
            aws = AWSKMS(
                kms.region,
                kms.endpoint_url,
                access_key_id=_env(kms.access_key_env, at),
                secret_access_key=_env(kms.secret_key_env, at),
                session_token=_env(kms.session_token_env, at),
            )
            self._closers.append(aws)
            return aws
        except ArgumentsBad as exc:
            raise UsageError(f"{at}: {exc.message}") from None

    def prepare_kms_key(self, region: str) -> None:
        """Make sure a local KMS key file holds the region's key (created on first use, 0600).

        Only the local KMS is touched: OpenBao and AWS keys are the operator's to create.
        """
        spec = self.settings.regions[self.check_region(region)]
        if not isinstance(spec.kms, LocalKMSSettings):
            return
        from strongroom.backup.kms import LocalKMS

        kms = LocalKMS(spec.kms.key_file)
        try:
            if spec.key_id in kms.key_ids():
                return
            spec.kms.key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            kms.create_key(spec.key_id)
        except ArgumentsBad as exc:
            if spec.key_id in kms.key_ids():  # another process made it meanwhile
                return
            raise UsageError(f"{self.settings.describe()}: key_id: {exc.message}") from None
        if not self.settings.is_default:
            warn(f"created local KMS key {spec.key_id!r} in {spec.kms.key_file}")

    # --- identities ----------------------------------------------------------------------------

    def manufacturer(self) -> ManufacturerIdentity:
        """The manufacturer identity (the embedded default makes a development one once)."""
        from strongroom.engine.identity import ManufacturerIdentity

        path = self._identity_file(self.settings.manufacturer_file, "manufacturer")
        if self.settings.is_default and not path.exists():
            self._make_data_dir()
            ManufacturerIdentity.create(DEV_MANUFACTURER_ID).save(path)
            _warn_development("manufacturer", path)
        return ManufacturerIdentity.load(path)

    def service_identity(self) -> ServiceIdentity:
        """The service identity (the embedded default makes a development one once)."""
        from strongroom.engine.identity import ServiceIdentity

        path = self._identity_file(self.settings.service_file, "service")
        if self.settings.is_default and not path.exists():
            self._make_data_dir()
            ServiceIdentity.create(DEV_SERVICE_ID).save(path)
            _warn_development("service", path)
        return ServiceIdentity.load(path)

    def _make_data_dir(self) -> None:
        """The embedded default's data directory, private to its owner (0700)."""
        if self.settings.data_dir is not None:
            self.settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _identity_file(self, path: Path | None, kind: str) -> Path:
        if path is None:
            raise UsageError(
                f"{self.settings.describe()}: [identities] has no {kind} file; "
                f"create one with `strongroom identity create-{kind}` and name it there"
            )
        if not self.settings.is_default and not path.exists():
            raise UsageError(
                f"{self.settings.describe()}: the {kind} identity file {path} does not exist; "
                f"create it with `strongroom identity create-{kind} --id ID --out {path}`"
            )
        return path


def _warn_development(kind: str, path: Path) -> None:
    warn(
        f"created a DEVELOPMENT {kind} identity at {path}.\n"
        "WARNING: it is for trying Strongroom out, not for keys you care about: anyone who "
        "copies the data directory can open its backups.\n"
        f"WARNING: for real use create one with `strongroom identity create-{kind}` "
        "and name it in a --config file."
    )
