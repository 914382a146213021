#!/usr/bin/env bash
# Fetch and verify the course's datasets and pretrained weights into datasets/.
#   ./setup_datasets.sh                         everything, from the canonical URLs
#   ./setup_datasets.sh cifar10                 one dataset (cifar10 mnist styles coco imagenet_val squeezenet)
#   ./setup_datasets.sh --from DIR [NAMES...]   copy from a local mirror instead of downloading
#   ./setup_datasets.sh --list                  what is installed
# Needs only Python 3 (the course environment's, when it exists).
set -euo pipefail
cd "$(dirname "$0")"
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
exec "$PY" helpers/data/fetch.py "$@"
