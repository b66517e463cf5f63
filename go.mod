module github.com/xabench/xabench

go 1.26

require (
	github.com/loov/hrtime v1.0.3
	github.com/puzpuzpuz/xsync/v3 v3.5.1
	go.uber.org/goleak v1.3.0
)
