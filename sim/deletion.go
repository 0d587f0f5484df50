package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// deleteDelayStream seeds the draws of the file deletion delay from
// their own random source, so that the seed's other draws are as they
// were without them.
const deleteDelayStream = 0x64656c6179 // "delay"

// drawDeleteDelay picks the brokers' log.segment.delete.delay.ms and, for
// a third of the seeds, the workload topic's file.delete.delay.ms
// override: 0 (removed segments' files deleted at once), a short delay
// (their deletions carried out within the run, while fetches may still
// be sending from them), or Kafka's default of a minute.
func (w *world) drawDeleteDelay() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, deleteDelayStream))
	delays := []int64{0, 1 + r.Int64N(3000), 60000}
	broker := delays[r.IntN(len(delays))]
	w.brokerProps["log.segment.delete.delay.ms"] = strconv.FormatInt(broker, 10)
	mix := fmt.Sprintf("file.delete.delay.ms=%d", broker)
	if r.IntN(3) == 0 {
		topic := delays[r.IntN(len(delays))]
		w.policy.configs = append(w.policy.configs, [2]string{"file.delete.delay.ms", strconv.FormatInt(topic, 10)})
		mix += fmt.Sprintf(" (topic %d)", topic)
	}
	w.mix = append(w.mix, mix)
}
