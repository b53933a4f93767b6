// Must fail to compile under tsc --strict (types.test.js checks the error): a map that
// returns one key instead of a list of keys.
import { QueryClient } from '@tanstack/query-core';
import { createSyncClient } from '@syncgate/client';
import { bindQueryClient } from '@syncgate/client/tanstack';

bindQueryClient(createSyncClient(), new QueryClient(), { 'personview.addrow': (d) => d.viewId });
