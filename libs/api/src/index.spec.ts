import { API_GROUP } from './index';
it('names the group', () => expect(API_GROUP).toBe('keda.sh'));
