#!/usr/bin/env bash
# cli_vit_without_preprocessor_config.sh - a ViT folder without preprocessor_config.json
# is refused with one line naming the missing file (exit 2), as transformers' image
# processors refuse it: ViT checkpoints differ in their normalisation (mean and std 0.5
# for google/vit, ImageNet's for DeiT and others), so defaults would silently feed the
# model another checkpoint's pixels. Before, the folder was read with such defaults.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cp -r "$AV_SRC/tests/fixtures/models/vit-tiny" vit && rm vit/preprocessor_config.json
want="vit/preprocessor_config.json: missing"
for cmd in "extract vit $AV_SRC/datasets/samples/photos -o run --device cpu" "info vit"; do
  "$AV" $cmd >out.txt 2>err.txt; rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "$want" err.txt \
    && echo "ok   ${cmd%% *}: $(cat err.txt)" || fail "${cmd%% *}: exit $rc: $(cat err.txt)"
done
[ -e run ] || [ -e run.partial ] && fail "extract left a run folder"
# with the file back, the same folder works
cp "$AV_SRC/tests/fixtures/models/vit-tiny/preprocessor_config.json" vit/
"$AV" extract vit "$AV_SRC/datasets/samples/photos" -o run --device cpu --quiet --max-items 2 2>err.txt || fail "with the file: $(cat err.txt)"
exit $((fails > 0))
