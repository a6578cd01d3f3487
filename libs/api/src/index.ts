export const API_GROUP = 'keda.sh';
