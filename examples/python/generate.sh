#!/bin/sh
# Generates the Python stubs from the project's protos into this folder.
set -e
cd "$(dirname "$0")"
python3 -m grpc_tools.protoc -I ../../proto --python_out=. --grpc_python_out=. \
    moderation/v1/messages.proto moderation/v1/service.proto
