# t161: run checks every option before any stage runs and takes each stage's options on its own
# command line; case files: out-of-range values and entities are exit 2 with the file and line,
# external entities are never read (issue 12 item 14).
. "$CTW_SRC/tests/regress/lib.sh"

# a bad mesh option fails at once: no stage ran, nothing written (before: after input and segment)
run 1 "$CTW" run --phantom lv --edge-length abc -o "$T/o"
has "$T/err" "--edge-length"
[ ! -e "$T/o" ] || fail "run wrote $T/o before refusing --edge-length abc"
grep -q "^run: " "$T/out" && fail "a stage ran before the options were checked"
for bad in "--iso 1e308" "--sigma nan" "--min-wall -1" "--smooth inf" "--alpha-endo abc" "--precond x" "--rv-angles 1,2" \
	"--radius-edge 0" "--timeout -5" "--apex -1" "--pad 101" "--mode fast" "--spacing 0"; do
	# shellcheck disable=SC2086
	run 1 "$CTW" run --phantom lv $bad -o "$T/o"
	has "$T/err" "${bad%% *}"
	[ ! -e "$T/o" ] || fail "run $bad wrote $T/o"
done
# the phantom's options need the phantom
run 1 "$CTW" run --image "$T/x.nii.gz" --labels "$T/y.nii.gz" --spacing 2 -o "$T/o"
has "$T/err" "--spacing"

# every hint's option is one run takes: the stages' options given to run reach the stages
run 0 "$CTW" run --phantom lv --spacing 1.5 --edge-length 4 --smooth 5 --min-wall 3.5 --alpha-endo 50 --beta-epi 5 \
	--precond jacobi --formats vtk -o "$T/o"
for p in "<param:smooth>5<" "<param:min-wall>3.5<" "<param:alpha-endo>50<" "<param:beta-epi>5<" "<param:precond>jacobi<" \
	"<param:spacing>1.5<" "<param:edge-length>4<"; do
	has "$T/o/case/provenance.xml" "$p"
done
rm -rf "$T/o"
for o in --iso --min-wall --sigma --rv-wall --smooth --radius-edge --min-dihedral --alpha-endo --rv-angles --tolerance \
	--threads --no-separate --no-base-plane --series; do
	"$CTW" run --help | grep -q -- "^  $o" || fail "run --help lacks $o"
done

# case files: out of range -> exit 2 with the file and the line; the command line overrides
case_file() { # NAME MESH-ATTRS [PROLOGUE]
	printf '<?xml version="1.0"?>\n%s<case id="x">\n  <input>\n    <phantom kind="lv" spacing="1.5"/>\n  </input>\n  <model>lv</model>\n  <mesh %s/>\n</case>\n' \
		"${3:-}" "$2" >"$T/$1.xml"
}
case_file range 'edge-length="100"'
run 2 "$CTW" run "$T/range.xml" -o "$T/o"
grep -q "^cardiotwin: error: $T/range.xml:7: .*edge-length" "$T/err" || { fail "range.xml: no file:line"; cat "$T/err"; }
[ ! -e "$T/o" ] || fail "range.xml: output written"
case_file smooth 'smooth="100000"'
run 2 "$CTW" run "$T/smooth.xml" -o "$T/o"
grep -q "smooth.xml:7: .*smooth" "$T/err" || { fail "smooth.xml: no file:line"; cat "$T/err"; }
run 0 "$CTW" run "$T/range.xml" --edge-length 4 --formats vtk -o "$T/o2"
# entities: internal, undefined, external (never read), billion laughs
case_file ent 'edge-length="&e;"' '<!DOCTYPE case [<!ENTITY e "4">]>
'
run 2 "$CTW" run "$T/ent.xml" -o "$T/o"
grep -q "ent.xml:2: .*DOCTYPE" "$T/err" || { fail "ent.xml: no line of the DOCTYPE"; cat "$T/err"; }
case_file undef 'edge-length="&e;"'
run 2 "$CTW" run "$T/undef.xml" -o "$T/o"
grep -q "undef.xml:7: " "$T/err" || { fail "undef.xml: no line"; cat "$T/err"; }
echo 4 >"$T/secret"
case_file xxe 'edge-length="&e;"' "<!DOCTYPE case [<!ENTITY e SYSTEM \"file://$T/secret\">]>
"
run 2 "$CTW" run "$T/xxe.xml" -o "$T/o"
error_names "$T/xxe.xml"
case_file lol 'edge-length="&l3;"' '<!DOCTYPE case [<!ENTITY l0 "4"><!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;"><!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">]>
'
run 2 "$CTW" run "$T/lol.xml" -o "$T/o"
error_names "$T/lol.xml:2"
[ ! -e "$T/o" ] || fail "an entity case file wrote output"
finish
