// Command kafkanode runs franz-go's in-process Kafka cluster (kfake) on 127.0.0.1 for
// bench/run.sh: one broker with the topic -topic (one partition) created, its bootstrap
// address printed on the first line. It serves until its standard input closes, then
// reads the topic back with a franz-go consumer and logs how many records it holds
// ("kafkanode: N records").
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	topic := flag.String("topic", "audit", "the topic created at start and counted at the end")
	partitions := flag.Int("partitions", 1, "the topic's partitions")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("kafkanode: ")

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), *topic))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.ListenAddrs()[0])
	_, _ = io.Copy(io.Discard, os.Stdin)

	n, err := count(c.ListenAddrs(), *topic)
	if err != nil {
		log.Fatalf("reading %s back: %v", *topic, err)
	}
	log.Printf("%d records", n)
}

// count reads topic from its start to the high watermarks its partitions had when count
// began, and returns how many records it holds.
func count(brokers []string, topic string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ends, err := highWatermarks(ctx, cl, topic)
	if err != nil {
		return 0, err
	}
	got := map[int32]int64{}
	done := func() bool {
		for p, end := range ends {
			if got[p] < end {
				return false
			}
		}
		return true
	}
	n := 0
	for !done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("%d records read, then: %w", n, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return n, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			got[r.Partition] = r.Offset + 1
		})
	}
	return n, nil
}

// highWatermarks lists the topic's partitions and the offset each one's next record will
// get.
func highWatermarks(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	adm := kadm.NewClient(cl)
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends := map[int32]int64{}
	var lerr error
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = o.Err
		}
		ends[o.Partition] = o.Offset
	})
	return ends, lerr
}
