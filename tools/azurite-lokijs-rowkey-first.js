// Preloaded into Azurite (node --require) by with-azurite.sh.
// Azurite's table store finds an entity with LokiJS
// findOne({PartitionKey, RowKey}); LokiJS uses a binary index only for the
// first term of such a query, so every point read, insert, upsert or delete
// scans the whole partition and filling one partition is quadratic. Asking
// for RowKey first lets the RowKey index do the work. Both terms are still
// matched (the query is the same AND), so results do not change.
"use strict";
const Loki = require(require.resolve("lokijs", { paths: [__dirname] }));
const findOne = Loki.Collection.prototype.findOne;
Loki.Collection.prototype.findOne = function (query) {
  if (query && typeof query === "object" && typeof query.RowKey === "string" &&
      "PartitionKey" in query && Object.keys(query).length === 2 &&
      this.binaryIndices && this.binaryIndices.RowKey !== undefined) {
    return findOne.call(this, { RowKey: query.RowKey, PartitionKey: query.PartitionKey });
  }
  return findOne.call(this, query);
};
