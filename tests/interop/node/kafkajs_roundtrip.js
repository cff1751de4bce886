// kafkajs round trip used by tests/interop/test_kafkajs.py: admin create topic, idempotent
// gzip produce with keys and headers, then a group consumer reads everything back
// and prints it as JSON.
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
const [broker, topic] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'kjs', brokers: [broker], logLevel: logLevel.WARN })
async function main() {
  const admin = kafka.admin(); await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer({ idempotent: true }); await producer.connect()
  const messages = []
  for (let i = 0; i < 30; i++) messages.push({ key: `k${i % 5}`, value: `v${i}`, headers: { n: `${i}` } })
  await producer.send({ topic, messages, compression: CompressionTypes.GZIP })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `g-${topic}` }); await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length}`)), 20000)
    consumer.run({ eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: message.offset, key: message.key.toString(), value: message.value.toString(), n: message.headers.n.toString() })
      if (got.length === 30) { clearTimeout(timer); resolve() }
    } })
  })
  await consumer.disconnect()
  console.log(JSON.stringify(got))
}
main().catch(e => { console.error(e); process.exit(1) })
