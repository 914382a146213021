#!/usr/bin/env bash
# Fetch and verify the course's datasets and pretrained weights into datasets/.
#   ./setup_datasets.sh                         everything, from the canonical URLs
#   ./setup_datasets.sh cifar10                 one dataset (cifar10 mnist styles coco imagenet_val squeezenet)
#   ./setup_datasets.sh --from DIR [NAMES...]   copy from a local mirror instead of downloading
#   ./setup_datasets.sh --list                  what is installed (--verify: recompute every checksum)
#   ./setup_datasets.sh --force cifar10         install again, e.g. to repair a damaged copy
# Needs only Python 3 (the course environment's, when it exists). Relative paths are taken from
# the directory you type the command in.
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$repo/.venv/bin/python" ]; then PY="$repo/.venv/bin/python"; else PY=python3; fi
exec "$PY" "$repo/helpers/data/fetch.py" "$@"
