# bash: functions, arrays, subshells, command substitution, pipes, traps, wait, and a loop
# of 200 fork+exec; the output must equal a native run's.
B=/bin/busybox
f() { echo "f got $# args: $*"; return 3; }
f a b c; echo "status $?"
arr=(one two three); arr+=(four); echo "${#arr[@]} ${arr[2]} ${arr[*]:1:2}"
declare -A m; m[x]=1; m[y]=2; echo "assoc ${m[x]} ${m[y]} keys ${#m[@]}"
x=$(echo sub; echo shell); echo "cmdsub [$x]"
( cd /; echo "subshell in $(pwd)"; exit 7 ); echo "subshell status $?"
echo "pipe: $(printf '3\n1\n2\n' | $B sort | $B tr '\n' ' ')"
set -o pipefail; false | true; echo "pipefail $?"; set +o pipefail
trap 'echo trapped USR1' USR1
kill -USR1 $$
trap 'echo bye from the EXIT trap' EXIT
$B sleep 0.2 & p1=$!
( exit 5 ) & p2=$!
wait $p1; echo "wait1 $?"
wait $p2; echo "wait2 $?"
n=0
for i in $($B seq 1 200); do
    $B true && n=$((n + 1))
done
echo "fork+exec loop: $n of 200"
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo "while $i"
case "abc" in a*) echo "case ok" ;; esac
read -r first rest <<< "alpha beta gamma"; echo "read [$first] [$rest]"
echo "arith $((6 * 7)) $(( (1 << 10) % 1000 ))"
exit 3
