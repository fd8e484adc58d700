"""Re-exports ``preprocessing.model_metadata``, where the metadata.json schema now lives (old imports keep working)."""

from preprocessing.model_metadata import (  # noqa: F401
    ALLOWED_QUANTIZATIONS,
    EXPECTED_FORMAT,
    KERAS_FILENAME,
    METADATA_FILENAME,
    MODEL_FILENAME,
    MetadataError,
    build_metadata,
    current_git_commit,
    file_sha256,
    load_metadata,
    validate_metadata,
    with_defaults,
    write_metadata,
)
