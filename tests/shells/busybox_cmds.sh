# The busybox commands of a typical OS-course test list (the oscomp busybox_cmd.txt), each run
# in a scratch directory; the output must equal a native run's. `o` prints a command's status
# and output, `t` only its status (stat: timestamps), `m` neither: its output and success
# depend on the machine (date, df, ps, hwclock, ...), so it only has to end. Where the list's
# command names something of the host (`kill 10`, `which ls`, `pwd`'s absolute path), an
# equivalent that means the same everywhere stands in.
B=/bin/busybox
t() { "$@" > out.txt 2>&1; echo "$* : status $?"; }
o() { "$@" > out.txt 2>&1; s=$?; echo "$* : status $s"; $B cat out.txt; }
m() { "$@" > out.txt 2>&1; echo "$1 $2 : ran"; }
$B mkdir -p bbtest && cd bbtest || exit 1
$B echo "hello busybox" > busybox_cmd.txt
o $B echo "#### independent command test"
o $B ash -c exit
o $B sh -c exit
o $B basename /aaa/bbb
m $B cal
m $B clear
m $B date
m $B df
o $B dirname /aaa/bbb
m $B dmesg
m $B du
o $B expr 1 + 1
o $B false
o $B true
m $B which busybox
m $B uname
m $B uptime
o $B printf "abc\n"
m $B ps
o $B sh -c "$B basename \"\$($B pwd)\""
m $B free
m $B hwclock
o $B sh -c "$B kill -0 \$\$"
o $B ls
t $B sleep 1
o $B echo "#### file opration test"
o $B touch test.txt
o $B sh -c "$B echo 'hello world' > test.txt"
o $B cat test.txt
o $B cut -c 3 test.txt
o $B od test.txt
o $B head test.txt
o $B tail test.txt
o $B hexdump -C test.txt
o $B md5sum test.txt
o $B sh -c "$B echo 'ccccccc' >> test.txt"
o $B sh -c "$B echo 'bbbbbbb' >> test.txt"
o $B sh -c "$B echo 'aaaaaaa' >> test.txt"
o $B sh -c "$B echo '2222222' >> test.txt"
o $B sh -c "$B echo '1111111' >> test.txt"
o $B sh -c "$B echo 'bbbbbbb' >> test.txt"
o $B sh -c "$B sort test.txt | $B uniq"
t $B stat test.txt
o $B strings test.txt
o $B wc test.txt
o $B [ -f test.txt ]
o $B more test.txt
o $B rm test.txt
o $B mkdir test_dir
o $B mv test_dir test
o $B rmdir test
o $B grep hello busybox_cmd.txt
o $B cp busybox_cmd.txt busybox_cmd.bak
o $B rm busybox_cmd.bak
o $B find -name "busybox_cmd.txt"
cd .. && $B rm -rf bbtest
