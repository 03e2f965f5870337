#!/usr/bin/env bash
# cli_delete_only_ours.sh - attnviz deletes or replaces only what it can prove it made:
# a run folder (its manifest says "format": "attnviz-run"), a partial folder carrying
# attnviz's marker (.made-by-attnviz), a synthetic set carrying it, or an empty folder.
# A user's folder that happens to be named RUN.partial, a foreign folder given to
# --force, the model or the data being read (or a folder holding them), and a run folder
# inside the model folder are refused with one line, exit 2, and left as they were.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'the quick brown fox jumps over the lazy dog.\nhello world\n' >good.txt

# refused NAME PATTERN -- COMMAND...: exit 2, one stderr line matching PATTERN
refused() {
  local name=$1 pat=$2 before=$fails; shift 3
  "$@" >out.txt 2>err.txt; local rc=$?
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 ($(head -c 300 err.txt))"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: $(wc -l <err.txt) lines on stderr: $(head -c 400 err.txt)"
  grep -q -- "$pat" err.txt || fail "$name: message does not say '$pat': $(cat err.txt)"
  [ $fails -eq $before ] && echo "ok   $name: $(cat err.txt)"
}
# intact DIR FILE...: the folder still holds these files with their content
intact() {
  local dir=$1; shift
  for f in "$@"; do [ "$(cat "$dir/$f" 2>/dev/null)" = "mine: $f" ] || fail "$dir/$f was removed or changed"; done
}

# ---- a user's folder named like the partial folder ------------------------------------
mkdir -p victim.partial && echo "mine: notes.txt" >victim.partial/notes.txt
refused "folder named RUN.partial, not ours" "victim.partial: exists and was not made by attnviz" -- \
  "$AV" extract "$M/bert-tiny" good.txt -o victim
intact victim.partial notes.txt
[ -e victim.partial/.lock ] && fail "a lock file was created in the user's folder"
[ -e victim ] && fail "victim was created"
refused "... also with --force" "victim.partial: exists and was not made by attnviz" -- \
  "$AV" extract "$M/bert-tiny" good.txt -o victim --force
intact victim.partial notes.txt
refused "... and from run" "victim.partial: exists and was not made by attnviz" -- \
  "$AV" run "$M/bert-tiny" good.txt -o victim --method pca
intact victim.partial notes.txt

# ---- --force on a folder that is not a run folder ----------------------------------------
mkdir -p photos && echo "mine: a.txt" >photos/a.txt
refused "--force on a foreign folder" "photos: exists and is not an attnviz run folder" -- \
  "$AV" extract "$M/bert-tiny" good.txt -o photos --force
intact photos a.txt
refused "run --force on a foreign folder" "photos: exists and is not an attnviz run folder" -- \
  "$AV" run "$M/bert-tiny" good.txt -o photos --force --method pca
intact photos a.txt
echo "mine: file" >afile
refused "--force on a file" "afile: exists and is not a folder" -- "$AV" extract "$M/bert-tiny" good.txt -o afile --force
[ "$(cat afile)" = "mine: file" ] || fail "afile was changed"
# a manifest.json that is not ours proves nothing
mkdir -p fake && echo '{"format": "something-else"}' >fake/manifest.json && echo "mine: data.bin" >fake/data.bin
refused "--force on a folder with another program's manifest" "fake: exists and is not an attnviz run folder" -- \
  "$AV" extract "$M/bert-tiny" good.txt -o fake --force
intact fake data.bin

# ---- never the model or the data being read -----------------------------------------------
cp -r "$M/bert-tiny" mcopy
ls mcopy >model_files.txt
refused "--force -o the model folder" "mcopy: holds the model being read" -- \
  "$AV" extract mcopy good.txt -o mcopy --force
[ "$(ls mcopy)" = "$(cat model_files.txt)" ] || fail "the model folder changed: $(ls mcopy)"
refused "--force -o the model folder (another spelling)" "holds the model being read" -- \
  "$AV" extract mcopy good.txt -o ./mcopy/../mcopy/ --force
ln -s mcopy mlink
refused "--force -o a symlink to the model folder" "holds the model being read" -- \
  "$AV" extract mcopy good.txt -o mlink --force
[ -L mlink ] || fail "the symlink was removed"
mkdir -p parent && cp -r "$M/bert-tiny" parent/m
refused "--force -o a parent of the model folder" "parent: holds the model being read" -- \
  "$AV" extract parent/m good.txt -o parent --force
[ -f parent/m/config.json ] || fail "the model inside parent was removed"
refused "-o inside the model folder" "is inside the model folder" -- "$AV" extract mcopy good.txt -o mcopy/run
[ -e mcopy/run ] && fail "a run folder was made inside the model"
refused "run -o inside the model folder" "is inside the model folder" -- "$AV" run mcopy good.txt -o mcopy/sub/run --method pca
[ -e mcopy/sub ] && fail "a folder was made inside the model"
# the data inside the run folder it would replace
"$AV" extract "$M/bert-tiny" good.txt -o holder --quiet 2>err.txt || fail "holder run: $(cat err.txt)"
cp good.txt holder/mydata.txt
refused "--force on the run folder that holds the data" "holder: holds the data being read" -- \
  "$AV" extract "$M/bert-tiny" holder/mydata.txt -o holder --force
[ -f holder/mydata.txt ] && [ -f holder/manifest.json ] || fail "the run holding the data was touched"
# a partial folder that holds the model (a model folder named like RUN.partial)
cp -r "$M/bert-tiny" x.partial
refused "the model named RUN.partial" "x.partial: holds the model being read" -- "$AV" extract x.partial good.txt -o x
[ -f x.partial/config.json ] || fail "the model named x.partial was touched"

# ---- what is ours is still replaced -------------------------------------------------------
mkdir -p empty
"$AV" extract "$M/bert-tiny" good.txt -o empty --force --quiet 2>err.txt && [ -f empty/manifest.json ] \
  || fail "--force on an empty folder: $(cat err.txt)"
"$AV" extract "$M/bert-tiny" good.txt -o empty --force --quiet 2>err.txt && [ -f empty/manifest.json ] \
  || fail "--force on a run folder: $(cat err.txt)"
[ -e empty/.made-by-attnviz ] && fail "the finished run kept the partial folder's marker"
# an empty folder named RUN.partial holds nothing to lose: used
mkdir -p redo.partial
"$AV" extract "$M/bert-tiny" good.txt -o redo --quiet 2>err.txt && [ -f redo/manifest.json ] && [ ! -e redo.partial ] \
  || fail "empty RUN.partial: $(cat err.txt)"
echo "ok   run folders, empty folders and an empty RUN.partial are still replaced"

# ---- synth: only its own sets -------------------------------------------------------------
mkdir -p pics && echo "mine: cat.png" >pics/cat.png
refused "synth --force on a foreign folder" "pics: exists and is not a synthetic set made by attnviz" -- \
  "$AV" synth --kind hue -n 2 --size 16 -o pics --force
intact pics cat.png
"$AV" synth --kind hue -n 2 --size 16 -o set 2>err.txt && [ -f set/.made-by-attnviz ] || fail "synth: $(cat err.txt)"
"$AV" synth --kind angle -n 2 --size 16 -o set --force 2>err.txt && [ -d set/angle ] && [ ! -d set/hue ] \
  || fail "synth --force on its own set: $(cat err.txt)"
echo "ok   synth replaces its own set"

exit $((fails > 0))
