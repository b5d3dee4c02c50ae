// GraphQL Code Generator: the apps' operations (graphql(`...`) calls in src/) are checked against the committed
// schema.graphql and typed into src/gql/; each is also hashed (sha256 of its normalised text) into
// src/gql/persisted-documents.json, the trusted documents the server accepts by id.
export default {
  // JSC_WEB_SCHEMA: another schema to check the apps against (the test that a breaking change fails the build).
  schema: process.env.JSC_WEB_SCHEMA ?? '../schema.graphql',
  documents: ['src/**/*.ts', 'src/**/*.tsx', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashPropertyName: 'hash', hashAlgorithm: 'sha256' },
      },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: 'string', Date: 'string', ID: 'string', JSON: 'unknown'},
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        skipTypename: true,
      },
    },
  },
};
