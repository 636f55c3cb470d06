#!/usr/bin/env bash
# The runner image's base, built offline from Debian's packages (no image registry needed):
# a minimal Debian 12 root filesystem with Python 3.11 and venv, imported as a local image.
#   docker/runner-base.sh TAG
# Needs root, debootstrap and a Debian mirror (DEBIAN_MIRROR). docker/runner.Dockerfile builds
# FROM it with --build-arg BASE_IMAGE=TAG; scripts/runner_image.sh calls this when TAG is absent.
set -euo pipefail
tag=${1:?usage: docker/runner-base.sh TAG}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /var/tmp/skt-runner-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
# minbase: dpkg, apt and the Essential packages (coreutils, passwd for useradd), nothing else.
debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-venv \
  bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# What a container never reads: package lists and caches, documentation, translations.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/log/* "$rootfs"/tmp/*
tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["/usr/bin/python3"]' - "$tag" >/dev/null
