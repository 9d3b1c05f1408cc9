"""Tables of the state database."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

services = Table(
    "services",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("token", Text, nullable=False),  # sealed: longer than the 64-character token
    Column("owner", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("service", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    # One job per (service, object version): a repeated event for the same upload finds this key.
    Column("dedupe_key", String(2048), unique=True, nullable=True),
    Column("provider", String(255), nullable=True),
    Column("bucket", String(255), nullable=True),
    Column("object_key", String(1024), nullable=True),
    Column("etag", String(255), nullable=True),
    Column("payload", LargeBinary, nullable=True),
    # A large /job body lives in a file of the ledger's payload folder, named here.
    Column("payload_file", String(255), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=1),
    Column("not_before", Float, nullable=False, default=0.0, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("log", Text, nullable=False, default=""),
    Column("dead", Boolean, nullable=False, default=False),
    Column("hidden", Boolean, nullable=False, default=False),
    # The manager running it, and when its claim lapses unless renewed (seconds since the epoch):
    # another manager sharing the database runs a job again only once its lease has run out.
    Column("owner", String(128), nullable=True),
    Column("lease_until", Float, nullable=True),
    # The only manager that may run it (the one holding its payload file); any when empty.
    Column("home", String(128), nullable=True),
)

# Buckets created through /system/buckets (or by a service), with what OSCAR keeps as tags.
buckets = Table(
    "buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("allowed_users", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Managed volumes: a named persistent folder that services mount (a PVC on Kubernetes).
volumes = Table(
    "volumes",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("size", String(64), nullable=False),
    Column("owner", String(255), nullable=False),
    Column("creation_mode", String(16), nullable=False),  # "api" or "service"
    Column("created_by_service", String(64), nullable=False, default=""),
    Column("lifecycle_policy", String(16), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# OSCAR's execution log: one row per POST /run or /job call (and per storage-triggered job).
executions = Table(
    "executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("service", String(64), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # "sync" (/run) or "async" (/job)
    Column("status", Integer, nullable=False),
    Column("latency", Float, nullable=False),  # seconds
    Column("client_ip", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("user", String(255), nullable=False),
)

# Store-and-forward (issue 10): what waits for another cluster that could not be reached, in
# the order it came: output files (kept in the data dir's outbox folder) and delegated events.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", Float, nullable=False, index=True),  # time it was queued: delivery order
    Column("kind", String(16), nullable=False),  # "upload" or "delegate"
    Column("service", String(64), nullable=False),
    Column("job_id", String(128), nullable=False, default=""),
    Column("target", String(255), nullable=False),  # provider ("minio.cloud") or cluster id
    Column("store", String(255), nullable=False),  # where it goes: a store or a cluster's URL
    Column("path", String(1024), nullable=False, default=""),  # "bucket/key" of an upload
    Column("spool", String(255), nullable=True),  # the file, in the outbox folder
    Column("body", LargeBinary, nullable=True),  # a delegated event
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("not_before", Float, nullable=False, default=0.0),
    Column("delivered_at", DateTime(timezone=True), nullable=True, index=True),
)

# Lineage (issue 10): which job wrote which object (in which store), and which job went to or
# came from which cluster, so a result can be traced back across clusters.
lineage = Table(
    "lineage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("job_id", String(128), nullable=False, index=True),
    Column("service", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # "output", "delegated_to", "delegated_from"
    Column("store", String(255), nullable=False, default=""),  # a store_name, or a cluster URL
    Column("path", String(1024), nullable=False, default="", index=True),  # "bucket/key"
    Column("peer", String(255), nullable=False, default=""),  # the other cluster's id
    Column("peer_job", String(128), nullable=False, default=""),
)
