#!/usr/bin/env bash
# Builds the repo's Dockerfile and runs podtrace in the image, without a container daemon:
# a debootstrapped Debian 12 (minbase, trimmed as the official slim image is) is imported as
# debian:bookworm-slim into private storage, `podman build --isolation chroot` builds the
# Dockerfile unchanged, and `buildah run --isolation chroot` runs podtrace in the result
# (`podman run` needs rlimits some sandboxes refuse). Checks the entrypoint, --version, that
# `report`, `tui --snapshot` and `decode` in the image print byte for byte what the host build
# prints on the bundled examples (same exit code), and the image size.
#
# Root only; exit 77 (skipped) without root or podman/buildah/debootstrap.
# Environment:
#   BUILD_DIR        host build to compare with (default build; built here if needed)
#   MIRROR           Debian mirror (default: this machine's apt source for bookworm main)
#   IMAGE_CACHE_DIR  keeps the debootstrapped root per mirror and day (default
#                    /var/cache/podtrace-image; empty: no cache)
#   IMAGE_MAX_MB     size bound (default 120; measured 92, of which the base is 78)
#   KEEP=1           keep the temporary storage for a look afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

skip() { echo "image_test: skipped: $*" >&2; exit 77; }
fail() { echo "image_test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot builds)"
for t in podman buildah debootstrap; do
  command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps installs it)"
done

ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
lap_start=$t0
lap() {  # lap NAME: prints the time since the previous lap
  local now; now=$(ms)
  local d=$((now - lap_start))
  printf 'image_test: %-12s %4d.%d s\n' "$1" $((d / 1000)) $((d % 1000 / 100))
  lap_start=$now
}

# The mirror apt uses here for bookworm main (it may be a proxy or local mirror).
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null |
           awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
echo "image_test: mirror $MIRROR"

tmp=$(mktemp -d /var/tmp/podtrace-image-test.XXXXXX)
# containers/image keeps its blob-info cache in /var/lib/containers/cache whatever the storage
# root: noted here so cleanup removes what this run created.
blobcache=/var/lib/containers/cache/blob-info-cache-v1.boltdb
had_varlib=0; [ -e /var/lib/containers ] && had_varlib=1
had_blobcache=0; [ -e "$blobcache" ] && had_blobcache=1
store=(--root "$tmp/graph" --runroot "$tmp/run" --storage-driver vfs)
cleanup() {
  local rc=$?
  if [ "${KEEP:-0}" = 1 ]; then
    echo "image_test: kept $tmp (podman ${store[*]} images)" >&2
    exit $rc
  fi
  buildah "${store[@]}" rm --all >/dev/null 2>&1 || true
  # Anything still mounted below tmp (a failed run) would keep rm -rf from finishing.
  awk -v d="$tmp" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$tmp"
  if [ "$had_varlib" = 0 ]; then rm -rf /var/lib/containers
  elif [ "$had_blobcache" = 0 ]; then rm -f "$blobcache"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Our own configuration, so system or user files change nothing and nothing lands outside tmp.
mkdir -p "$tmp/tmpdir" "$tmp/libpod"
cat >"$tmp/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
tmp_dir = "$tmp/libpod"
EOF
cat >"$tmp/registries.conf" <<'EOF'
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
cat >"$tmp/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$tmp/graph"
runroot = "$tmp/run"
EOF
export CONTAINERS_CONF=$tmp/containers.conf CONTAINERS_REGISTRIES_CONF=$tmp/registries.conf \
       CONTAINERS_STORAGE_CONF=$tmp/storage.conf TMPDIR=$tmp/tmpdir BUILDAH_ISOLATION=chroot
unset REGISTRY_AUTH_FILE

# The host binary the image's output is compared with.
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target podtrace >/dev/null
host_bin=$build/app/podtrace
lap host-build

# --- base image: debootstrap, or the cached root of the same mirror and day ---------------
base_tar=
if [ -n "${IMAGE_CACHE_DIR-/var/cache/podtrace-image}" ]; then
  cache=${IMAGE_CACHE_DIR-/var/cache/podtrace-image}
  key=$(printf '%s' "$MIRROR" | tr -c 'A-Za-z0-9.-' '_')
  base_tar=$cache/bookworm-minbase-$key-$(date -u +%Y%m%d).tar
fi
if [ -n "$base_tar" ] && [ -s "$base_tar" ]; then
  echo "image_test: base root from cache $base_tar"
  lap cache-hit
else
  root=$tmp/rootfs
  if ! debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log" >&2
    fail "debootstrap from $MIRROR failed"
  fi
  # As the official slim image: no docs, man pages or locales, now or from later installs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  # and, as it, no translations from apt.
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
         "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
         "$root/debootstrap"
  lap debootstrap
  tar_out=$tmp/base.tar
  tar -C "$root" --numeric-owner -cf "$tar_out" .
  rm -rf "$root"
  if [ -n "$base_tar" ] && mkdir -p "$cache" 2>/dev/null; then
    # Written beside, then renamed: a run never reads a half-written cache; older days go.
    find "$cache" -maxdepth 1 -name "bookworm-minbase-$key-*.tar" -delete
    cp "$tar_out" "$base_tar.tmp.$$" && mv "$base_tar.tmp.$$" "$base_tar" || rm -f "$base_tar.tmp.$$"
  fi
  base_tar=$tar_out
fi
podman "${store[@]}" import --quiet "$base_tar" docker.io/library/debian:bookworm-slim >/dev/null
lap import

# --- the image: the Dockerfile as it is -----------------------------------------------------
img=localhost/podtrace-image-test:latest
stamp() { while IFS= read -r l; do printf '%(%s)T %s\n' -1 "$l"; done; }
# --layers=false: vfs copies the whole tree for every layer; one commit per stage is enough.
if ! podman "${store[@]}" build --pull=never --isolation chroot --layers=false \
       -f "$repo/Dockerfile" -t "$img" "$repo" 2>&1 | stamp >"$tmp/build.log"; then
  tail -40 "$tmp/build.log" >&2
  fail "podman build failed (log above)"
fi
lap image-build
# Where the build's time went, step by step (to the second).
awk '/ STEP [0-9]+\/[0-9]+: | COMMIT/ { if (n != "") printf "image_test:   %4d s %s\n", $1 - t, n
                                         t = $1; n = substr($0, length($1) + 2, 90) }
     END { if (n != "") printf "image_test:   %4d s %s\n", $1 - t, n }' "$tmp/build.log"

size=$(podman "${store[@]}" image inspect --format '{{.Size}}' "$img")
podman "${store[@]}" images
size_mb=$((size / 1000000))
echo "image_test: image size $size bytes ($size_mb MB)"
max_mb=${IMAGE_MAX_MB:-120}
[ "$size_mb" -lt "$max_mb" ] || fail "image is $size_mb MB, over the $max_mb MB bound"
entry=$(podman "${store[@]}" image inspect --format '{{json .Config.Entrypoint}}' "$img")
[ "$entry" = '["podtrace"]' ] || fail "entrypoint is $entry, not [\"podtrace\"]"

# --- podtrace in the image ---------------------------------------------------------------------
ctr=$(buildah "${store[@]}" from --pull-never --quiet "$img")
examples=/usr/share/podtrace/examples
in_image() {  # in_image ARGS...: podtrace ARGS in the image, in the examples directory
  buildah "${store[@]}" run --isolation chroot --env TZ=UTC --env LC_ALL=C.UTF-8 \
    --workingdir "$examples" "$ctr" -- podtrace "$@"
}

version=$(sed -n 's/^project(podtrace VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt's project()"
want_version="podtrace $version"
got_version=$(in_image --version) || fail "podtrace --version failed in the image"
[ "$got_version" = "$want_version" ] ||
  fail "--version in the image: '$got_version', want '$want_version'"
echo "image_test: $got_version"

# Each case: arguments relative to examples/, as the golden tests run them.
names='--pods ipip/pods.json --services ipip/services.json --nodes ipip/nodes.json'
cases=()
for m in ipip vxlan wireguard direct crosssubnet; do
  files=$(cd examples && echo $m/*.pcapng)
  cases+=("report --pods $m/pods.json --services $m/services.json --nodes $m/nodes.json $files")
done
cases+=("report -f json $names $(cd examples && echo ipip/*.pcapng)"
        "report --pods crafted/pods.json --expect no-drops $(cd examples && echo crafted/faults/*.pcapng)"
        "tui --snapshot 132x40 $names -r $(cd examples && echo ipip/*.pcapng)"
        "decode -v $(cd examples && echo crafted/ipip/*.pcap)")
n=0
for c in "${cases[@]}"; do
  read -ra args <<<"$c"
  n=$((n + 1))
  rc_host=0; (cd examples && env -i PATH=/usr/bin:/bin TZ=UTC LC_ALL=C.UTF-8 "$host_bin" "${args[@]}") \
    >"$tmp/host.$n.out" 2>"$tmp/host.$n.err" || rc_host=$?
  rc_img=0; in_image "${args[@]}" >"$tmp/image.$n.out" 2>"$tmp/image.$n.raw" || rc_img=$?
  # buildah adds its own lines to stderr when the command fails.
  sed -E '/^(subprocess exited with status [0-9]+|Error: exit status [0-9]+)$/d' \
    "$tmp/image.$n.raw" >"$tmp/image.$n.err"
  [ -s "$tmp/host.$n.out" ] || fail "host podtrace printed nothing for: $c"
  if ! cmp -s "$tmp/host.$n.out" "$tmp/image.$n.out" || ! cmp -s "$tmp/host.$n.err" "$tmp/image.$n.err" ||
     [ "$rc_host" != "$rc_img" ]; then
    diff -u "$tmp/host.$n.out" "$tmp/image.$n.out" | head -30 >&2 || true
    diff -u "$tmp/host.$n.err" "$tmp/image.$n.err" | head -30 >&2 || true
    fail "podtrace $c: image (exit $rc_img) differs from the host binary (exit $rc_host)"
  fi
  echo "image_test: same output, exit $rc_img, $(wc -c <"$tmp/image.$n.out") bytes:" \
       "podtrace ${args[0]} ${args[1]} ..."
done
lap run

lap_start=$t0; lap total
echo "image_test: ok, image $size_mb MB"
