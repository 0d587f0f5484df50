#!/usr/bin/env bash
# Installs the Debian packages that the end-to-end tests use when they are
# missing: kcat and the confluent_kafka and kafka (kafka-python) Python
# modules, Debian's ZooKeeper server (package zookeeper, which brings
# java), openssl (encrypted PKCS#8 keys for the TLS tests), chromium and
# firefox-esr (the web console's browser tests). Quick and silent when everything is present. Under CI=true, a tool still missing
# afterwards is an error; elsewhere it is a warning, and the tests that need
# it skip themselves.
set -euo pipefail

# Debian's python3-confluent-kafka and python3-kafka install for the system
# interpreter, which a python3 earlier in PATH (pyenv, a virtualenv) may not
# see.
PYTHON=/usr/bin/python3

have_kcat()      { command -v kcat >/dev/null 2>&1; }
have_confluent() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import confluent_kafka' >/dev/null 2>&1; }
have_kafka_py()  { [ -x "$PYTHON" ] && "$PYTHON" -c 'import kafka' >/dev/null 2>&1; }
have_zookeeper() { [ -r /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; }
have_openssl()   { command -v openssl >/dev/null 2>&1; }
have_chromium()  { command -v chromium >/dev/null 2>&1; }
have_firefox()   { command -v firefox-esr >/dev/null 2>&1; }

missing=()
have_kcat      || missing+=(kcat)
have_confluent || missing+=(python3-confluent-kafka)
have_kafka_py  || missing+=(python3-kafka)
have_zookeeper || missing+=(zookeeper)
have_openssl   || missing+=(openssl)
have_chromium  || missing+=(chromium)
have_firefox   || missing+=(firefox-esr)

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=()
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! "${SUDO[@]}" apt-get update -qq ||
		! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
		echo "deps: apt-get could not install ${missing[*]}" >&2
	fi
fi

still=()
have_kcat      || still+=("kcat (Debian package kcat)")
have_confluent || still+=("confluent_kafka for $PYTHON (Debian package python3-confluent-kafka)")
have_kafka_py  || still+=("kafka (kafka-python) for $PYTHON (Debian package python3-kafka)")
have_zookeeper || still+=("ZooKeeper server and java (Debian package zookeeper)")
have_openssl   || still+=("openssl (Debian package openssl)")
have_chromium  || still+=("chromium (Debian package chromium)")
have_firefox   || still+=("firefox-esr (Debian package firefox-esr)")

if [ ${#still[@]} -gt 0 ]; then
	for tool in "${still[@]}"; do
		echo "deps: missing: $tool" >&2
	done
	if [ "${CI:-}" = "true" ]; then
		echo "deps: CI=true and test dependencies are missing; failing" >&2
		exit 1
	fi
	echo "deps: continuing; tests that need the missing tools will skip" >&2
fi
