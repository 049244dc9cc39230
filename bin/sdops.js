#!/usr/bin/env node
// The CLI ships as TypeScript and runs through tsx, so `npm ci` is the only install step
// and the SQL schema files are read from src/ as they are.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
