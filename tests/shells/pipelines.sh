# Pipelines and file tools of busybox's sh, in a scratch directory; the output must equal a
# native run's.
B=/bin/busybox
$B mkdir -p pipes && cd pipes || exit 1
seq 1 200000 | sort -rn | uniq -c | sort -n | md5sum
mkdir -p tree/a/b tree/c
for i in 1 2 3 4 5; do echo "line $i of file $i" > tree/a/f$i.txt; done
echo "needle in b" > tree/a/b/deep.txt
echo "no match" > tree/c/other.txt
find tree -type f | sort
find tree -name '*.txt' -path '*a*' | sort | wc -l
grep -r needle tree
grep -rl "file 3" tree | sort
sed -n 's/line \([0-9]\) of.*/L\1/p' tree/a/f2.txt tree/a/f4.txt
awk '{ n += $2 } END { print "sum", n }' tree/a/f*.txt
cat tree/a/f*.txt | wc -l -w -c
tar cf - tree | tar tf - | sort
find tree -type f | sort | xargs cat | md5sum
seq 1 50 | xargs -n 7 echo | tail -2
echo "a,b,c" | cut -d, -f2 | tr b B
printf '%s\n' x y z | tac 2>/dev/null || printf '%s\n' z y x
yes lego | head -3
cd .. && rm -rf pipes
echo done
