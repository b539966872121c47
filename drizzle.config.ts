import { defineConfig } from 'drizzle-kit';

// `npx drizzle-kit generate` writes SQL migrations from schema/tables.ts into schema/migrations (committed).
export default defineConfig({
  dialect: 'sqlite',
  schema: './schema/tables.ts',
  out: './schema/migrations',
});
