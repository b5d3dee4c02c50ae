// PostGraphile v5 for the map benchmark: the amber preset over jsc_mapbench, exposing only the `pgl` schema
// (postgraphile.sql). run.py starts it as one process with the CLI:
//
//   MAPBENCH_PG_URL=postgres://user:password@127.0.0.1:47432/jsc_mapbench GRAPHILE_ENV=production \
//     node_modules/.bin/node node_modules/.bin/postgraphile -C graphile.config.mjs --host 127.0.0.1 --port 47490
//
// The connection string comes from the environment so the password is not on a command line.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.MAPBENCH_PG_URL;
if (!connectionString) {
  throw new Error("MAPBENCH_PG_URL is not set (a libpq URL of the jsc_mapbench database)");
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["pgl"],
      // node-postgres' default pool (10) would do at 10 connections; stated so the comparison is explicit.
      poolConfig: { max: 10 },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    graphiql: false,
    watch: false,
  },
  grafast: {
    explain: false,
  },
};

export default preset;
