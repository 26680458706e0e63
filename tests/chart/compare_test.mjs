// helm 3 and helm 4 render the same objects from every values file of tests/chart/values
// (the random token aside): the chart means the same under both.
import assert from "node:assert/strict";
import path from "node:path";
import { Checks, helmPath, listValuesFiles, render, valuesDir } from "./lib.mjs";

const helm3 = helmPath(3);
const helm4 = helmPath(4);
const t = new Checks("helm 3 vs helm 4");

function objectsOf(helm, file) {
  const { objects } = render(helm, { values: [path.join(valuesDir, file)] });
  for (const o of objects) if (o.kind === "Secret" && o.data?.token) o.data.token = "<random>";
  return objects;
}

for (const f of listValuesFiles()) {
  t.check(`values/${f}: the same objects`, () => {
    const a = objectsOf(helm3, f);
    const b = objectsOf(helm4, f);
    assert.ok(a.length >= 4, `only ${a.length} objects`);
    assert.deepEqual(b, a);
  });
}
t.finish();
