#!/usr/bin/env node
// The package runs its TypeScript sources directly (DESIGN.md: no build step), so the launcher
// registers tsx's loader before importing the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
