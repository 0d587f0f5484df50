// Command ckctl is the Cloud Kafka operator CLI, in the spirit of rpk: it
// creates, lists, describes and deletes topics, produces lines from standard
// input and consumes partitions directly (no consumer group).
//
//	ckctl [-b host:port,...] topic create NAME [-p partitions] [-r replicas] [-c key=value ...]
//	ckctl [-b host:port,...] topic list
//	ckctl [-b host:port,...] topic describe NAME
//	ckctl [-b host:port,...] topic delete NAME
//	ckctl [-b host:port,...] produce TOPIC [-k key] [-p partition] [-v]
//	ckctl [-b host:port,...] consume TOPIC [-o earliest|latest|N] [-n count] [-p partition]
//
// The brokers default to $CKCTL_BROKERS, else 127.0.0.1:9092. Every failure
// prints one line to standard error and exits non-zero.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
