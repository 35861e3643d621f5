#!/usr/bin/env bash
# Runs the Dockerfile's build stage without Docker: a tree holding only what the stage's COPY
# lines copy, and the stage's RUN lines run in it, in order. A file compiled into the binary
# (include_str!, sqlx::migrate!) that the Dockerfile forgets to copy fails here, as it would in
# `docker build`.
#
# Usage: .ci/docker-build-stage.sh [DOCKERFILE]
# The stage is the one named `build` (FROM … AS build). Supported in it: WORKDIR, ARG, ENV, COPY
# (from the build context) and RUN; anything else fails loudly rather than being skipped.
# Compiled artifacts go to LIZA_DOCKER_TARGET_DIR (default /var/tmp/liza-docker-build-target),
# kept between runs so that only what changed is compiled again; the image's toolchain is
# whatever `cargo` is on PATH here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="${1:-$repo/Dockerfile}"
export CARGO_TARGET_DIR="${LIZA_DOCKER_TARGET_DIR:-/var/tmp/liza-docker-build-target}"
mkdir -p "$CARGO_TARGET_DIR"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/liza-docker-build-stage.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
root="$scratch/root"
mkdir -p "$root"
workdir="/"

# One instruction per line: continuation lines joined, comments and blank lines dropped.
instructions() {
  awk '
    /^[[:space:]]*#/ { next }
    {
      if (sub(/\\[[:space:]]*$/, "")) { line = line $0 " "; next }
      line = line $0
      if (line ~ /[^[:space:]]/) print line
      line = ""
    }
    END { if (line ~ /[^[:space:]]/) print line }
  ' "$dockerfile"
}

in_image() { # an image path (absolute, or relative to WORKDIR) inside the scratch tree
  case "$1" in
    /*) printf '%s%s' "$root" "$1" ;;
    *) printf '%s%s/%s' "$root" "${workdir%/}" "$1" ;;
  esac
}

in_stage=0
found=0
while IFS= read -r line; do
  read -r keyword rest <<<"$line"
  keyword="${keyword^^}"
  if [ "$keyword" = FROM ]; then
    if [[ "${rest,,}" =~ [[:space:]]as[[:space:]]+build$ ]]; then
      in_stage=1
      found=1
    else
      in_stage=0
    fi
    continue
  fi
  [ "$in_stage" = 1 ] || continue
  case "$keyword" in
    WORKDIR)
      workdir="$rest"
      mkdir -p "$(in_image "$workdir")"
      ;;
    ARG)
      # ARG NAME[=default]: `docker build --build-arg NAME=…` is this script's environment
      # variable NAME; without it, the default.
      name="${rest%%=*}"
      if [ -z "${!name+x}" ] && [[ "$rest" == *=* ]]; then export "$name=${rest#*=}"; fi
      ;;
    ENV)
      # ENV NAME=value … (the form this Dockerfile uses)
      for assignment in $rest; do export "${assignment?}"; done
      ;;
    COPY)
      read -r -a words <<<"$rest"
      sources=()
      for word in "${words[@]}"; do
        case "$word" in
          --from=*) echo "docker-build-stage: COPY --from is not supported in the build stage: $line" >&2; exit 2 ;;
          --*) ;;
          *) sources+=("$word") ;;
        esac
      done
      destination="${sources[-1]}"
      unset 'sources[-1]'
      target="$(in_image "$destination")"
      for source in "${sources[@]}"; do
        if [ ! -e "$repo/$source" ]; then
          echo "docker-build-stage: $line: $source is not in the repository" >&2
          exit 2
        fi
        if [ -d "$repo/$source" ]; then
          mkdir -p "$target"
          cp -a "$repo/$source/." "$target/"
        elif [ "${#sources[@]}" -gt 1 ] || [[ "$destination" == */ ]]; then
          mkdir -p "$target"
          cp -a "$repo/$source" "$target/"
        else
          mkdir -p "$(dirname "$target")"
          cp -a "$repo/$source" "$target"
        fi
      done
      echo "docker-build-stage: COPY ${sources[*]} -> $destination"
      ;;
    RUN)
      echo "docker-build-stage: RUN $rest"
      (cd "$(in_image "$workdir")" && bash -euo pipefail -c "$rest")
      ;;
    *)
      echo "docker-build-stage: $keyword is not supported in the build stage: $line" >&2
      exit 2
      ;;
  esac
done < <(instructions)

if [ "$found" = 0 ]; then
  echo "docker-build-stage: no stage named build in $dockerfile" >&2
  exit 2
fi
# What the runtime stage copies out of the build stage must exist and run.
"$CARGO_TARGET_DIR/release/liza" --version
echo "docker-build-stage: the build stage of $dockerfile builds."
