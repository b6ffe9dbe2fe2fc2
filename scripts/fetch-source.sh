#!/bin/sh
# fetch-source REPO REF DEST: check out REF (a tag, branch or commit) of REPO into DEST, and say which
# commit it is. Used by the Dockerfile's build stages.
set -eu
repo=$1
ref=$2
dest=$3
# A tag or branch clones shallow; a commit needs the history.
if ! git clone --quiet --depth 1 --branch "$ref" "$repo" "$dest" 2>/dev/null; then
    rm -rf "$dest"
    git clone --quiet "$repo" "$dest"
    git -C "$dest" checkout --quiet --detach "$ref"
fi
git -C "$dest" log -1 --format="$repo @ $ref = %H (%cs)"
